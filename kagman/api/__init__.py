"""The public Python API: what ``kagman.pull``, ``kagman.index``, ``kagman.load``... are.

The layer that composes the packages below it and turns user input (a ref string, a
URL, a folder) into the validated requests the domain packages take. The CLI calls
these functions; nothing below this package imports it.

::

    pulling   pull(), pull_competition(): a request for the resolvers, then --link
    tables    files(), load(): a listing; one table pulled alone and read by kagman.tables
    images    index(), show(): a ref turned into a folder for kagman.images
    platform  environment(): the platform and the resolvers a pull tries there

May import: every package below it (:mod:`kagman.resolvers`, :mod:`kagman.images`,
:mod:`kagman.tables`, :mod:`kagman.remote`, :mod:`kagman.cache`, ...). Submodules are
not named like the functions (a module ``kagman.api.pull`` would shadow the function).
"""

from kagman.api.images import index, show
from kagman.api.platform import environment
from kagman.api.pulling import pull, pull_competition
from kagman.api.tables import files, load

__all__ = ["environment", "files", "index", "load", "pull", "pull_competition", "show"]
