"""proofforge-serve: the vllm serve command line (without vLLM), the Hydra app, its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

from prover.apps.serve import ServeConfigError, serve
from prover.config import compose, to_container
from prover.llm.errors import BackendUnavailable
from prover.serving.vllm_launch import argv_from_config, build_vllm_argv, vllm_executable

REPO = Path(__file__).resolve().parents[1]


def test_build_vllm_argv_selects_lean_attention():
    argv = build_vllm_argv("org/model", host="0.0.0.0", port=9001, served_model_name="m", max_num_seqs=8,
                           max_model_len=4096, tensor_parallel_size=2, seed=1, extra_args=["--enforce-eager"])
    assert argv[:3] == ["vllm", "serve", "org/model"]
    pairs = dict(zip(argv[3::2], argv[4::2], strict=False))
    assert pairs["--attention-backend"] == "CUSTOM"
    assert pairs["--host"] == "0.0.0.0" and pairs["--port"] == "9001" and pairs["--served-model-name"] == "m"
    assert pairs["--max-num-seqs"] == "8" and pairs["--max-model-len"] == "4096"
    assert pairs["--tensor-parallel-size"] == "2" and pairs["--seed"] == "1"
    assert "--enable-prefix-caching" in argv and argv[-1] == "--enforce-eager"
    plain = build_vllm_argv("m", attention_backend=None, tensor_parallel_size=1)
    assert "--attention-backend" not in plain and "--tensor-parallel-size" not in plain


def test_argv_from_the_serve_config():
    cfg = compose("serve", ["backend=vllm", "model=goedel_prover_v2_8b", "port=9100", "max_batch_size=64",
                            "vllm_args=[--enforce-eager]"])
    argv = argv_from_config(to_container(cfg), to_container(cfg.model), "Goedel-LM/Goedel-Prover-V2-8B")
    joined = " ".join(argv)
    assert joined.startswith("vllm serve Goedel-LM/Goedel-Prover-V2-8B --host 127.0.0.1 --port 9100")
    for flag in ("--attention-backend CUSTOM", "--served-model-name Goedel-LM/Goedel-Prover-V2-8B",
                 "--max-num-seqs 64", "--max-model-len 40960", "--dtype bfloat16", "--enforce-eager"):
        assert flag in joined


def test_missing_vllm_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(BackendUnavailable, match=r"^vLLM is not installed: pip install 'proofforge\[vllm\]'$"):
        vllm_executable()


def test_cli_without_vllm_exits_with_the_message(tmp_path):
    code = "import sys; sys.modules['vllm'] = None; from prover.apps.serve import main; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", code, "backend=vllm", "model=deepseek_prover_v15_rl",
                        f"hydra.run.dir={tmp_path}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 4  # a setup error (prover/exit_codes.py)
    assert r.stderr.strip() == "proofforge-serve: vLLM is not installed: pip install 'proofforge[vllm]'"
    assert (tmp_path / "config.yaml").exists()


def test_dry_run_says_what_it_would_serve_in_one_line_and_starts_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # the model folder does not exist: a dry run that loaded it would raise GeneratorError
    cfg = compose("serve", ["model.path=/no/such/ckpt", "model.attn_implementation=sdpa", "dry_run=true", "port=8123"])
    assert serve(cfg) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("dry run: would serve tiny (/no/such/ckpt) with the built-in server")
    assert "http://127.0.0.1:8123/v1" in out[0] and "attention: sdpa" in out[0] and "Serving" not in out[0]
    assert not (tmp_path / "config.yaml").exists()
    assert serve(compose("serve", ["backend=vllm", "model=deepseek_prover_v15_rl", "dry_run=true"])) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("dry run: would run vllm serve deepseek-ai/DeepSeek-Prover-V1.5-RL")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("port=70000", "port must be in 0..65535, got 70000"),
        ("max_batch_size=0", "max_batch_size must be >= 1, got 0"),
    ],
)
def test_bad_serve_numbers_name_the_key_before_any_model_work(override, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for wrong_type in ("port=abc", "batch_wait_ms=soon"):  # the schema (prover/settings/apps.py) refuses these
        with pytest.raises(ConfigCompositionException, match=wrong_type.replace("=", "=")):
            compose("serve", ["model.path=/does/not/matter", "dry_run=true", wrong_type])
    cfg = compose("serve", ["model.path=/does/not/matter", "dry_run=true", override])
    with pytest.raises(ServeConfigError, match=f"^{message}$"):
        serve(cfg)
    assert not (tmp_path / "config.yaml").exists()


def test_missing_model_folder_is_named_not_reported_as_a_bad_repo_id(tmp_path):
    from prover.llm.errors import GeneratorError
    from prover.llm.hf_backend import HFGenerator, looks_like_a_path

    missing = tmp_path / "no_such_checkpoint"
    with pytest.raises(GeneratorError, match=f"^model path {missing} does not exist"):
        HFGenerator(missing, attn_implementation="sdpa", device="cpu")
    assert looks_like_a_path("/data/ckpt") and looks_like_a_path("./ckpt") and looks_like_a_path("runs/a/b")
    assert not looks_like_a_path("deepseek-ai/DeepSeek-Prover-V1.5-RL") and not looks_like_a_path("gpt2")


def test_a_taken_port_is_reported_before_the_model_loads(tmp_path, monkeypatch):
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # The model path does not exist: reaching the model load would raise GeneratorError instead.
        cfg = compose("serve", ["model.path=/does/not/exist", f"port={port}"])
        with pytest.raises(ServeConfigError, match=f"^cannot listen on 127.0.0.1:{port} "):
            serve(cfg)


def test_a_client_model_config_is_refused_with_what_to_serve_instead(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServeConfigError, match=r"^model\.backend=openai is not a model this server can load"):
        serve(compose("serve", ["model=openai", "dry_run=true"]))
