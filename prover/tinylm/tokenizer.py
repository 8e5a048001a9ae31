"""A small byte-level BPE for the tiny corpus, wrapped as a ``PreTrainedTokenizerFast``.

Byte-level so that any Lean text (unicode binders, ``ℕ``, ``⟨⟩``, indentation) round-trips, and
small (~1k merges) because the corpus language is small; a big general vocabulary would spend most
of the tiny model's parameters on embeddings it never uses. The post-processor prepends ``<s>`` so
any consumer calling ``tokenizer(prompt)`` gets exactly the ids the model was trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = [PAD, BOS, EOS]
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)


#: How numbers are cut before BPE (``tokenizer.numbers``).
NUMBER_MODES = ("corpus", "isolated", "digits", "anchored")

#: ``anchored`` pieces: a run of digits alone; a word or a run of punctuation with its leading space, and also
#: the one space after it when a digit follows (otherwise GPT-2's piece rule without its English contractions, which
#: ``pre_tokenizers.ByteLevel`` applies: huggingface/tokenizers, ``tokenizers/src/pre_tokenizers/byte_level.rs``).
ANCHORED_PIECES = r"\p{N}+| ?\p{L}+(?: (?=\p{N}))?| ?[^\s\p{L}\p{N}]+(?: (?=\p{N}))?|\s+(?!\S)|\s+"


def check_number_mode(numbers: str) -> None:
    """A ValueError naming ``tokenizer.numbers`` unless ``numbers`` is one of :data:`NUMBER_MODES`."""
    if numbers not in NUMBER_MODES:
        raise ValueError(f"tokenizer.numbers must be one of {', '.join(NUMBER_MODES)}, got {numbers!r}")


def byte_level_bpe(texts: list[str], vocab_size: int, special_tokens: list[str], numbers: str = "isolated") -> Tokenizer:
    """A byte-level BPE (all 256 bytes, then ``special_tokens``, then merges) trained on ``texts``.

    ``numbers``: ``isolated`` (the default) cuts every run of digits out as its own piece first, so a number
    is the same token(s) wherever it stands and a copy from English into Lean copies the same symbol;
    ``corpus`` lets BPE merge digits with what surrounds them (`` 18`` and ``[18`` are two different
    tokens, the first version); ``digits`` cuts every digit out, as the Llama and DeepSeek tokenizers do
    (measured worst here: a two-digit copy is two steps; docs/tinylm.md). ``anchored`` isolates numbers too,
    but the space before a number joins the word or sign before it (`` plus `` + ``13``, ``, `` + ``8``):
    under ``isolated`` every number follows the same lone space token, so the token before a number says
    nothing about where it stands, and a copy has to look two or three tokens back to find its place."""
    check_number_mode(numbers)
    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if numbers == "corpus":
        tok.pre_tokenizer = byte_level
    elif numbers == "anchored":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(ANCHORED_PIECES), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=numbers == "digits"), byte_level])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def number_texts(whole_numbers: int, repeat: int = 200) -> list[str]:
    """Texts that make every integer below ``whole_numbers`` one token, with and without a leading space.

    Why: BPE over the corpus alone merged the frequent small numbers only (`` 88`` was ``Ġ8`` + ``8``, and
    ``18`` after ``[`` another token than `` 18``), so copying a number from the informal statement into the
    Lean one, or comparing two numbers in the judge, meant copying or comparing arbitrary pieces. One token
    per number makes both a single-symbol copy; each number is repeated so its merges outrank rarer words."""
    if whole_numbers <= 0:
        return []
    line = " ".join(f"{n} [{n}," for n in range(whole_numbers))
    return [line] * repeat


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024, whole_numbers: int = 0,
                    numbers: str = "isolated") -> PreTrainedTokenizerFast:
    """Train a byte-level BPE with ``vocab_size`` entries (at least the 256 bytes plus specials); with
    ``whole_numbers`` > 0, the integers below it are single tokens when the vocabulary has room;
    ``numbers`` says how digits are cut before BPE (:func:`byte_level_bpe`)."""
    if vocab_size < MIN_VOCAB:
        raise ValueError(f"tokenizer vocab_size must be >= {MIN_VOCAB} (256 bytes + specials), got {vocab_size}")
    # Trained from an in-memory list so the merges depend only on the (seeded) corpus.
    tok = byte_level_bpe([*texts, *number_texts(whole_numbers)], vocab_size, SPECIAL_TOKENS, numbers)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, padding_side="left",
        clean_up_tokenization_spaces=False, model_max_length=4096,
    )
