"""The ``nn.Module`` side of every network piece (imports torch).

Each file here has a pure-Python twin of the same name in ``cspnet/families/`` holding the piece's
channel arithmetic, validation and analytic plan; every module class names its plan twin in its
docstring.  Nothing outside this package imports it at module level: a Family's ``build`` imports
its file when a model is built, so planning and validation never load torch.  See
``cspnet/families/__init__.py`` for the layout.
"""
