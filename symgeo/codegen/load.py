"""Compile kernel source text into a module object, without touching the disk.

The module is executed in a fresh namespace under a name that says what it is
(``symgeo_kernels.<family>.<metric>_<target>``); it is not inserted into
``sys.modules``, so two metrics of the same name never collide.
"""

import types


def module_from_source(source, name):
    """A module executed from ``source``.

    >>> module = module_from_source("X = 1 + 1", "symgeo_kernels.example")
    >>> module.X, module.__name__
    (2, 'symgeo_kernels.example')
    """
    module = types.ModuleType(name)
    code = compile(source, f"<{name}>", "exec")
    exec(code, module.__dict__)
    return module
