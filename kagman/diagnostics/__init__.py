"""The doctor: one report on why kagman, and the other Kaggle clients, do or do not work here.

::

    environment  installed Kaggle packages (found, never imported), network variables, the cache
    report       DoctorReport and doctor(): credentials + packages + cache + network (+ online)

It combines the packages below it, so it sits above them (beside
:mod:`kagman.resolvers`); it is not named ``doctor`` because a submodule would
shadow the public function :func:`kagman.doctor`.
May import: :mod:`kagman.credentials`, :mod:`kagman.cache`, :mod:`kagman.remote` (only
``--online``), :mod:`kagman.settings`, :mod:`kagman.errors`, :mod:`kagman.fs`.
"""

from kagman.diagnostics.report import DoctorReport, OnlineCheck, doctor

__all__ = ["DoctorReport", "OnlineCheck", "doctor"]
