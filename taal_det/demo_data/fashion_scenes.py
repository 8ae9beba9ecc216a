"""Multi-class detection scenes: Fashion-MNIST objects pasted onto real photos.

Objects come from Debian's ``dataset-fashion-mnist`` (IDX files; the train images for
the trainval scenes, the t10k images for the test scenes), backgrounds are random
crops of the photographs bundled with scikit-image. Each object is scaled to a random
size, tinted, and alpha-blended where its pixels are bright; its box is the exact
extent of its opaque pixels. Output is a deterministic function of the arguments.
"""
import gzip
import importlib.util
import os
import random

import numpy as np

from .voc_writer import Box, Sample

FASHION_DIR = '/usr/share/datasets/fashion-mnist'
CLASSES = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'ankle_boot')
PHOTOS = ('astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'hubble_deep_field.jpg',
          'ihc.png', 'motorcycle_left.png', 'retina.jpg', 'brick.png', 'grass.png', 'gravel.png',
          'camera.png', 'moon.png')


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion(split, root=None):
    root = root or FASHION_DIR
    prefix = 'train' if split == 'train' else 't10k'
    paths = [os.path.join(root, f'{prefix}-{kind}-idx{n}-ubyte.gz')
             for kind, n in (('images', 3), ('labels', 1))]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f'Fashion-MNIST not found ({missing[0]}); run: '
                                'apt-get install -y dataset-fashion-mnist')
    return read_idx(paths[0]), read_idx(paths[1])


def load_photos():
    from PIL import Image
    spec = importlib.util.find_spec('skimage')
    if spec is None:
        raise FileNotFoundError('scikit-image is not installed (its bundled photos are the '
                                'backgrounds); run: pip install scikit-image')
    folder = os.path.join(list(spec.submodule_search_locations)[0], 'data')
    return [Image.open(os.path.join(folder, name)).convert('RGB') for name in PHOTOS]


def _iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def make_scene(rng, photos, images, labels, size, n_objects, scale=(0.2, 0.5), max_iou=0.3):
    """One scene: a background crop and up to ``n_objects`` pasted objects with boxes."""
    from PIL import Image
    photo = photos[rng.randrange(len(photos))]
    side = rng.randint(min(size, *photo.size), min(photo.size))
    x, y = rng.randint(0, photo.width - side), rng.randint(0, photo.height - side)
    canvas = np.asarray(photo.crop((x, y, x + side, y + side)).resize((size, size)),
                        dtype=np.float32)
    boxes = []
    for _ in range(n_objects):
        k = rng.randrange(len(images))
        s = rng.randint(int(size * scale[0]), int(size * scale[1]))
        obj = np.asarray(Image.fromarray(images[k]).resize((s, s), Image.BILINEAR),
                         dtype=np.float32) / 255.0
        alpha = np.clip(obj * 3.0, 0, 1)
        rows, cols = np.nonzero(alpha >= 0.5)
        if not len(rows):
            continue
        for _attempt in range(20):
            ox, oy = rng.randint(0, size - s), rng.randint(0, size - s)
            box = (ox + int(cols.min()), oy + int(rows.min()), ox + int(cols.max()),
                   oy + int(rows.max()))
            if all(_iou(box, b[1:]) <= max_iou for b in boxes):
                break
        else:
            continue
        alpha = np.where(alpha >= 0.5, 1.0, 0.0)[..., None]
        tint = np.array([rng.uniform(0.4, 1.0) for _ in range(3)], dtype=np.float32) * 255
        patch = canvas[oy:oy + s, ox:ox + s]
        canvas[oy:oy + s, ox:ox + s] = patch * (1 - alpha) + alpha * obj[..., None] * tint
        boxes.append((CLASSES[int(labels[k])],) + box)
    image = Image.fromarray(canvas.round().clip(0, 255).astype(np.uint8))
    return image, [Box(*b) for b in boxes]


def scene_samples(num_trainval, num_test, size=128, objects=(1, 4), seed=0):
    """Yield ``num_trainval`` then ``num_test`` scenes (ids ``tv_00000``/``te_00000``)."""
    photos = load_photos()
    for prefix, split, count in (('tv', 'train', num_trainval), ('te', 'test', num_test)):
        images, labels = load_fashion(split)
        rng = random.Random(f'{seed}-{prefix}')
        for i in range(count):
            image, boxes = make_scene(rng, photos, images, labels, size,
                                      rng.randint(*objects))
            yield Sample(f'{prefix}_{i:05d}', image, boxes)
