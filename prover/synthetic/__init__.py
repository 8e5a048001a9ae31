"""DeepSeek-Prover V1's synthetic-data pipeline with expert iteration.

Stages (one module each): ``formalize`` (informal → Lean statements), ``quality`` (graded filter),
``prove`` (hypothesis-consistency probe; statement-versus-negation race), ``dataset`` (exact dedup,
SFT export), ``finetune`` and ``iterate`` (rounds), ``pipeline`` (``proofforge-synth`` and
:func:`~prover.synthetic.pipeline.run_synth`). ``statements`` splits theorem headers for the
derived statements. Imports are left to the submodules so importing the package stays cheap.
"""

__all__ = ["dataset", "finetune", "formalize", "iterate", "pipeline", "prove", "quality", "statements"]
