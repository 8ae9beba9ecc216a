"""Makers of the demo and test data: real photos (deepforest's aerial trees, Fashion-MNIST
on scikit-image's photos) written as VOC-format trees. Nothing here is needed to train."""
