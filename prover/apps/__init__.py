"""The console scripts: ``proofforge-<name>`` is ``main()`` in ``prover/apps/<name>.py``, over ``configs/<name>.yaml``.

Why one package at the top: an app is where the command line and the Hydra config meet the library, and
where exceptions become exit codes (prover/exit_codes.py). Keeping every app here lets the library
packages below (``prover.lean``, ``prover.llm``, ``prover.search``, ``agents``, ``prover.serving``, ...)
stay free of Hydra and OmegaConf, which an import-linter contract checks. A stage's own run function
(``evals.run.run_eval``, ``autoformalize.cli.run_formalize``, ``prover.synthetic.pipeline.run_pipeline``)
stays with its stage, callable from notebooks with a composed config.

| command | module | config |
| --- | --- | --- |
| ``proofforge-eval`` | ``prover.apps.eval`` | ``configs/eval.yaml`` |
| ``proofforge-report`` | ``prover.apps.report`` | (argparse: run folders) |
| ``proofforge-formalize`` | ``prover.apps.formalize`` | ``configs/formalize.yaml`` |
| ``proofforge-synth`` | ``prover.apps.synth`` | ``configs/synth.yaml`` |
| ``proofforge-check`` | ``prover.apps.check`` | ``configs/check.yaml`` |
| ``proofforge-lean`` | ``prover.apps.lean`` | (argparse: doctor, setup, selftest) |
| ``proofforge-serve`` | ``prover.apps.serve`` | ``configs/serve.yaml`` |
| ``proofforge-lean-server`` | ``prover.apps.lean_server`` | ``configs/lean_server.yaml`` |
| ``proofforge-train-tiny`` | ``prover.apps.train_tiny`` | ``configs/train_tiny.yaml`` |

The main job (``make run``, ``python -m prover.main``) sits above them: it installs Lean, then runs the eval.
"""
