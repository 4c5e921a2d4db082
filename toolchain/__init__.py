"""Where this checkout's toolchain lives: the pinned engine versions, the download cache and the JDK.

Standard library only: the bootstrap imports it before any virtualenv exists, and every package (the
stack launcher, the Flink job runner) may import it.
"""
