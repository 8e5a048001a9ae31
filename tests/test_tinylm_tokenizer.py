"""The tiny model's tokenizer: byte-level round trips, and the four ways numbers can be cut."""

from __future__ import annotations

import pytest

from prover.tinylm.tokenizer import BOS, train_tokenizer

TEXTS = ["theorem t (x : ℕ) (h₀ : x + 18 = 88) : x = 70 := by\n  omega", "Show that 18 is in the list [18, 88, 3].",
         "If x plus 18 is 88, then x is 70."] * 30
LEAN = "theorem t : (18 : ℕ) ∈ [18, 88, 106] := by\n  simp"


def tokens(tok, text: str) -> list[str]:
    return tok.convert_ids_to_tokens(tok(text).input_ids)


@pytest.mark.parametrize("numbers", ["corpus", "isolated", "digits", "anchored"])
def test_every_mode_round_trips_lean_text_and_prepends_bos(numbers: str) -> None:
    tok = train_tokenizer(TEXTS, 400, numbers=numbers)
    ids = tok(LEAN).input_ids
    assert tok.convert_ids_to_tokens(ids)[0] == BOS
    assert tok.decode(ids, skip_special_tokens=True) == LEAN


def test_corpus_merges_a_number_with_its_neighbour_and_isolated_does_not() -> None:
    merged = train_tokenizer(TEXTS, 400, numbers="corpus")
    assert "Ġ18" in tokens(merged, "x + 18") and "Ġ18" not in tokens(merged, "[18")
    isolated = train_tokenizer(TEXTS, 400)  # the default
    # the same token for 18 after a space and after a bracket: a copy from English into Lean copies one symbol
    assert tokens(isolated, "x + 18")[-1] == tokens(isolated, "[18")[-1] == "18"


def test_anchored_puts_the_space_before_a_number_on_the_token_before_it() -> None:
    isolated, anchored = train_tokenizer(TEXTS, 400), train_tokenizer(TEXTS, 400, numbers="anchored")
    # isolated: every number follows the same lone space, whatever stands before it
    assert tokens(isolated, "x + 18")[-2:] == tokens(isolated, "x plus 18")[-2:] == ["Ġ", "18"]
    # anchored: the number is the same token, and the token before it carries the word or sign and the space
    assert tokens(anchored, "x + 18")[-2:] == ["Ġ+Ġ", "18"]
    assert tokens(anchored, "x plus 18")[-2:] == ["ĠplusĠ", "18"]
    list_tokens = tokens(anchored, "[18, 88, 3]")
    assert list_tokens[list_tokens.index("18"):] == ["18", ",Ġ", "88", ",Ġ", "3", "]"]
    assert "Ġ" not in list_tokens and tokens(anchored, "(h₀ : x")[-1] == "Ġx"  # spaces before words as before


def test_digits_mode_cuts_every_digit() -> None:
    tok = train_tokenizer(TEXTS, 400, numbers="digits")
    assert tokens(tok, "x = 106")[-3:] == ["1", "0", "6"]


def test_whole_numbers_are_single_tokens_and_an_unknown_mode_is_refused() -> None:
    tok = train_tokenizer(TEXTS, 700, whole_numbers=120, numbers="corpus")
    assert tokens(tok, "x = 106")[-1] == "Ġ106"
    assert tokens(train_tokenizer(TEXTS, 700, whole_numbers=120), "x = 106")[-1] == "106"
    with pytest.raises(ValueError, match="tokenizer.numbers must be one of corpus, isolated, digits, anchored"):
        train_tokenizer(TEXTS, 400, numbers="words")
