"""What the tests and the benchmarks share: fixture writers and the original-SVG reference.

- :mod:`svg.testing.bair_records`: BAIR-format TFRecords (the softmotion30_44k schema), random or
  given frames;
- :mod:`svg.testing.videos`: videos of a moving shape in any container and codec, written with PyAV;
- :mod:`svg.testing.kth_videos`: KTH-format AVIs (MPEG-4 part 2, 25 fps) written with PyAV;
- :mod:`svg.testing.original_svg`: SVG-LP written the way the original SVG code is.

They live in the installed package, not in ``tests/`` or ``benchmarks/``, so that both import them
the ordinary way (``from svg.testing.bair_records import ...``) with no path manipulation:
benchmarks run as scripts, where ``sys.path[0]`` is ``benchmarks/``, and pytest puts ``tests/`` on
the path, so only the installed package is reachable from both.

The original-SVG model is here and not in :mod:`models` because it is a reference, not a model of
this project: nothing trains, evaluates or loads it; it exists to be compared against (a test shows
``SVG.loss`` with ``skip: original`` equals its loss; ``benchmarks/train_step.py`` times the two).
In :mod:`models` it would sit beside the backbones a config can name, and it must never be one.

Nothing in ``svg`` outside this package imports it; importing it costs nothing at ``svg`` start-up.
"""
