"""The CUDA path against the CPU: one training step, autocast dtypes, kill and resume, evaluation,
and the DDP code path with NCCL. Skipped where no GPU is present (they run on the device machine:
benchmarks/gpu/run_device.sh)."""
import json
import os
import subprocess
import sys

import pytest
import torch

from core.devices import tf32
from svg import SVG, ModelConfig
from svg.cli.evaluate import evaluate_run
from svg.config import EvalConfig, load_config
from core.devices import autocast_context
from svg.checkpoints import list_checkpoints
from svg.train.loop import train
from tiny_runs import REPO, TINY, kill_9_then_rerun

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = ["train.device=cuda"]
SMALL = ModelConfig(width=16, g_dim=32, z_dim=4, rnn_size=32, n_past=2)


def loss_and_grads(model, x, eps):
    model.zero_grad(set_to_none=True)
    out = model.loss(x, eps)
    out.objective().backward()
    return out.objective().detach().double().cpu(), {
        n: p.grad.detach().double().cpu() for n, p in model.named_parameters()}


def test_fp32_step_on_cuda_matches_the_cpu():
    """Same weights, frames and posterior noise; TF32 off. Tolerance: fp32 convolutions sum up to
    4·4·256 = 4096 products in an order cuDNN chooses, so each layer may differ from the CPU's
    by a few units of 1e-7 × √4096 ≈ 1e-5 relative; through ~10 layers and 6 time steps, with
    BatchNorm dividing by batch statistics, we allow 1e-4 on the loss and 2e-3 on each
    parameter's gradient (relative to its norm). A real defect (a wrong dtype, a missed step)
    moves them by orders of magnitude more."""
    torch.manual_seed(0)
    model = SVG(SMALL).train()
    x = torch.rand(4, 6, 1, 64, 64)
    eps = torch.randn(4, 5, SMALL.z_dim)
    with tf32(False):
        cpu_loss, cpu_grads = loss_and_grads(model, x, eps)
        gpu_loss, gpu_grads = loss_and_grads(model.cuda(), x.cuda(), eps.cuda())
    assert abs(gpu_loss - cpu_loss) <= 1e-4 * abs(cpu_loss)
    for name, g in cpu_grads.items():
        err = (gpu_grads[name] - g).norm() / g.norm().clamp_min(1e-12)
        assert err < 2e-3, (name, float(err))


def test_bf16_autocast_dtypes_of_every_module():
    """Under bf16 autocast on CUDA: convolutions and linear layers in bf16, the LSTMs in fp32
    (never fp16, which autocast's cuDNN RNN wrapper would pick), and nothing anywhere in fp16."""
    torch.manual_seed(0)
    model = SVG(SMALL).cuda().train()
    seen = {}

    def hook(module, inputs, output):
        first = output[0] if isinstance(output, tuple) else output
        if torch.is_tensor(first):
            seen.setdefault(type(module).__name__, set()).add(first.dtype)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with autocast_context(torch.device("cuda"), "bf16"):
        out = model.loss(torch.rand(4, 6, 1, 64, 64, device="cuda"))
    out.objective().backward()
    for h in handles:
        h.remove()
    assert not any(torch.float16 in d for d in seen.values()), seen
    assert seen["LSTM"] == {torch.float32}
    assert seen["Conv2d"] == {torch.bfloat16} and torch.bfloat16 in seen["Linear"]
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


def test_kill_and_resume_on_cuda(tmp_path):
    """Killed with SIGKILL after step 4 of 8 and re-run: the resumed run ends where an
    uninterrupted one does (cuDNN may pick other algorithms after a restart, so to 1e-4, not
    bitwise as on the CPU)."""
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY, *CUDA,
                    "train.steps_per_epoch=8", f"run_dir={ref}"], check=True, capture_output=True)
    run = tmp_path / "killed"
    kill_9_then_rerun(run, 8, 4, *CUDA)
    a = torch.load(list_checkpoints(str(ref))[-1], weights_only=False)
    b = torch.load(list_checkpoints(str(run))[-1], weights_only=False)
    assert a["step"] == b["step"] == 8
    for k, v in a["model"].items():
        if v.is_floating_point():
            torch.testing.assert_close(b["model"][k], v, rtol=1e-4, atol=1e-5, msg=k)


def test_evaluate_on_cuda_equals_the_cpu(tmp_path):
    """The same checkpoint and noise: PSNR, SSIM and LPIPS on the GPU equal the CPU's to 1e-4
    (evaluation runs with TF32 off on every device)."""
    run = tmp_path / "run"
    train(load_config(None, TINY + ["train.steps_per_epoch=4", f"run_dir={run}"]), progress=False)
    reps = {dev: evaluate_run(str(run), EvalConfig(n_samples=3, max_videos=6, batch_size=3, device=dev),
                              out_dir=str(tmp_path / dev)) for dev in ("cpu", "cuda")}
    for metric, m in reps["cpu"]["metrics"].items():
        assert abs(reps["cuda"]["metrics"][metric]["mean"] - m["mean"]) <= 1e-4, metric
    for metric, per_step in reps["cpu"]["per_step"].items():
        assert reps["cuda"]["per_step"][metric] == pytest.approx(per_step, abs=1e-4), metric


def test_one_rank_nccl_through_the_ddp_code_path(tmp_path):
    """torchrun with one process: the trainer joins an NCCL group and trains through DDP. (Two
    NCCL ranks need two GPUs; the all-reduce of gradients between ranks is tested with gloo on
    the CPU in test_trainer.py.)"""
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=1", "--master_port=29551",
           os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY, *CUDA,
           "train.steps_per_epoch=4", "train.ema=0.9", f"run_dir={run}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 4 and summary["ranks_in_sync"] and len(summary["rank_checksums"]) == 1
    log = (run / "train.log").read_text()
    assert "device cuda:0" in log and "DistributedDataParallel over 1 process(es), backend nccl" in log


def test_uint8_batches_become_the_cpus_float_frames_on_cuda():
    """The training loader's uint8 batch, pinned, copied and made float on the GPU, is bit for bit
    the float batch the dataset makes on the CPU (x / 255 is correctly rounded on both)."""
    from svg.config import DataConfig
    from svg.data import make_dataset, unit_frames
    from svg.train.batches import training_loader
    cfg = DataConfig(name="smmnist")
    u8 = next(iter(training_loader(make_dataset(cfg, "train", 8, uint8_items=True), 0, 0, 3, 4, 4, 2, True)))
    floats = next(iter(training_loader(make_dataset(cfg, "train", 8), 0, 0, 3, 4, 4, 0, False)))
    on_gpu = unit_frames(u8.to("cuda", non_blocking=True))
    assert u8.is_pinned() and on_gpu.dtype == torch.float32
    assert torch.equal(on_gpu.cpu(), floats)
