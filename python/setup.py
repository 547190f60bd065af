"""Packages the library `make` built (libhattn.so and the hattn-reader program it spawns to decode images) with
the ctypes bindings. pip builds nothing: build the project first (`make` at the top of the tree); HATTN_BUILD_DIR
names another build folder (a portable one: cmake -DHATTN_NATIVE=OFF). The version is the tree's VERSION file
(HATTN_SOURCE_DIR names the tree when this folder was copied elsewhere). The wheel is a platform wheel: it holds
a binary for this machine's architecture."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("HATTN_SOURCE_DIR", os.path.dirname(HERE))


def version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        build = os.environ.get("HATTN_BUILD_DIR", os.path.join(ROOT, "build"))
        lib = os.path.join(build, "bin", "libhattn.so")
        reader = os.path.join(build, "bin", "hattn-reader")
        for path in (lib, reader):
            if not os.path.exists(path):
                raise SystemExit(f"hattn: {path} does not exist: run `make` at the top of the tree first "
                                 "(or set HATTN_BUILD_DIR to a build folder)")
        dest = os.path.join(self.build_lib, "hattn", "lib")
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(lib, os.path.join(dest, "libhattn.so"))  # the reader is found beside the library
        shutil.copy2(reader, os.path.join(dest, "hattn-reader"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a binary inside: a platform wheel, installed in platlib
        return True


setup(version=version(), cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
