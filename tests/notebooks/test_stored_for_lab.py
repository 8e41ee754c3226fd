"""The notebooks as stored for the workbook's JupyterLab: the kernel spec and language_info
that JupyterLab writes into a notebook when its kernel starts are already there, so opening
one does not mark it as changed (tests/e2e/test_lab.py sees it in a browser)."""

import json

import pytest
from ipykernel.ipkernel import IPythonKernel
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from workbook.kernel import WorkbookKernel
from workbook.lab import JUPYTER_SETTINGS_DIR
from workbook.reading import notebooks

NOTEBOOKS = notebooks()
KERNELS_DIR = JUPYTER_SETTINGS_DIR / "kernels"


def notebook_id(path) -> str:
    return path.stem


def lab_kernel_spec() -> dict:
    return json.loads((KERNELS_DIR / "python3" / "kernel.json").read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_the_notebook_names_the_labs_kernel_as_jupyterlab_would(path):
    """kernelspec: the lab's python3 spec, with the three keys JupyterLab writes."""
    spec = lab_kernel_spec()
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["kernelspec"] == {
        "name": "python3",
        "display_name": spec["display_name"],
        "language": spec["language"],
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_the_notebook_stores_the_language_info_the_kernel_announces(path):
    """language_info: exactly what the workbook's kernel announces (no Python version)."""
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["language_info"] == WorkbookKernel.language_info


def test_the_workbook_kernel_is_ipythons_without_the_version():
    """Only the version, which differs between machines, is left out."""
    expected = dict(IPythonKernel.language_info)
    del expected["version"]
    assert WorkbookKernel.language_info == expected


def test_the_labs_python3_kernel_announces_what_the_notebooks_store():
    """The kernel spec in jupyter/kernels starts a kernel whose kernel_info matches."""
    specs = KernelSpecManager(kernel_dirs=[str(KERNELS_DIR)])
    kernel = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    kernel.start_kernel()
    client = kernel.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=30)
        reply = client.kernel_info(reply=True, timeout=30)
        assert reply["content"]["language_info"] == WorkbookKernel.language_info
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
