"""The kernel of the workbook's JupyterLab: IPython's own, except that it does not announce
Python's exact version. JupyterLab copies what a kernel announces into the notebook when it
opens it; the stored notebooks carry the same, so opening one does not mark it as changed
(a version would differ from one machine to the next). jupyter/kernels/python3 starts it."""

from ipykernel.ipkernel import IPythonKernel


class WorkbookKernel(IPythonKernel):
    language_info = {
        key: value for key, value in IPythonKernel.language_info.items() if key != "version"
    }
