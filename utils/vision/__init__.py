"""Vision use cases of the demo: digits drawn as strokes, and whole numbers read from a picture.

``strokes`` draws digits as a person does on the page's canvas (the benchmark's drawings and
training data); ``compose`` lays several drawn digits out as a number on a wide canvas;
``detection`` turns the detector's grid outputs into boxes and the number's text.
Pillow and numpy only: the serving apps import this package.
"""
