"""The kernel is verified once per model file in a process: an app built again on the same file starts at once."""

from prediris_api.runtime import kernel as kernels
from prediris_api.runtime.model import ModelRuntime


def test_a_second_runtime_on_the_same_model_file_reuses_the_verification(loaded, monkeypatch):
    checked = []
    real = kernels._verify
    monkeypatch.setattr(kernels, "_verified", {})
    monkeypatch.setattr(kernels, "_verify", lambda kernel, estimator: checked.append(1) or real(kernel, estimator))
    first, second = ModelRuntime(loaded), ModelRuntime(loaded)
    assert len(checked) == 1
    assert first.kernel_name == second.kernel_name == "direct"
