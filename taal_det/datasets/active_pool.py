"""The training view of an active-learning pool: labelled and unlabelled images of one
dataset, mixed in each batch in a fixed ratio, unlabelled ones without annotations."""
import math
import os
import random

from mmengine.dist import get_dist_info
from mmdet.registry import DATA_SAMPLERS, DATASETS
from torch.utils.data import Dataset, Sampler

LABELLED_KEY = 'al_labelled'


def image_ids(dataset):
    """The ``img_id`` of every image of an mmengine dataset, in dataset order."""
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError(f'the train dataset ({type(dataset).__name__}) has no get_data_info(); '
                        'ActivePoolHook needs an mmengine BaseDataset whose images have img_id')
    ids = []
    for i in range(len(dataset)):
        img_id = dataset.get_data_info(i).get('img_id')
        if img_id is None:
            raise TypeError(f'the train dataset ({type(dataset).__name__}) gives no img_id '
                            'for its images, so it cannot be restricted by image ids')
        ids.append(str(img_id))
    if len(set(ids)) != len(ids):
        raise ValueError('the train dataset has duplicate img_id values; active learning '
                         'keys the split by image id')
    return ids


def boxes_per_class(dataset, indices):
    """Boxes (not ignored) of the images at these dataset indices, per class name."""
    classes = dataset.metainfo.get('classes') or ()
    counts = {}
    for index in indices:
        for inst in dataset.get_data_info(index)['instances']:
            if not inst.get('ignore_flag', 0):
                label = inst['bbox_label']
                name = classes[label] if label < len(classes) else str(label)
                counts[name] = counts.get(name, 0) + 1
    return counts


def check_images_exist(dataset, shown=5):
    """Refuse a pool with image files missing from disk (one stat per local image; paths
    with a URI scheme, read through a storage backend, are left to the loader)."""
    missing = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('img_path')
        if path is not None and '://' not in str(path) and not os.path.isfile(path):
            missing.append(f"{info.get('img_id')} ({path})")
    if missing:
        more = f' and {len(missing) - shown} more' if len(missing) > shown else ''
        raise FileNotFoundError(f'{len(missing)} of {len(dataset)} pool images are missing '
                                f"from disk: {', '.join(missing[:shown])}{more}")


@DATASETS.register_module()
class ActivePoolDataset(Dataset):
    """Two views of one dataset of N images: index ``i`` is image i with its annotations
    (labelled view) and ``N + i`` is image i with its annotations removed before the
    pipeline runs (unlabelled view). Every sample's metainfo says which (``al_labelled``).
    """

    def __init__(self, dataset, max_refetch=10):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.metainfo = self.dataset.metainfo
        self.max_refetch = max_refetch

    def __len__(self):
        return 2 * len(self.dataset)

    def _source(self, idx):
        """The dataset that holds image ``idx`` and its index there (unwraps
        mmengine's ConcatDataset, whose parts keep their own pipelines)."""
        dataset = self.dataset
        while hasattr(dataset, '_get_ori_dataset_idx'):
            part, idx = dataset._get_ori_dataset_idx(idx)
            dataset = dataset.datasets[part]
        return dataset, idx

    def get_data_info(self, idx):
        """The data info of view ``idx`` (annotations removed in the unlabelled view):
        batch samplers such as AspectRatioBatchSampler read image sizes from it."""
        n = len(self.dataset)
        dataset, base = self._source(idx % n)
        info = dataset.get_data_info(base)
        if idx >= n:
            info['instances'] = []
        return info

    def __getitem__(self, idx):
        n = len(self.dataset)
        labelled = idx < n
        dataset, base = self._source(idx % n)
        for _ in range(self.max_refetch + 1):
            info = dataset.get_data_info(base)
            if not labelled:
                info['instances'] = []
            data = dataset.pipeline(info)
            if data is not None:
                data['data_samples'].set_metainfo({LABELLED_KEY: labelled})
                return data
        raise RuntimeError(f'the train pipeline dropped image {idx % n} '
                           f'{self.max_refetch + 1} times; an active-learning pool cannot '
                           'swap it for another image')


@DATA_SAMPLERS.register_module()
class ActivePoolSampler(Sampler):
    """Indices for :class:`ActivePoolDataset`: batches of ``batch_size`` images, each with
    labelled and unlabelled images in ``source_ratio`` (labelled : unlabelled).

    An epoch is one pass over the labelled images (the last batches are filled with
    labelled images drawn again), or ``num_batches`` batches per process when given (the
    labelled images then cycle in fresh random orders); unlabelled images are drawn afresh
    every epoch, and each batch is shuffled (a layout that reads the batch as an embedding
    must not learn from positions). Each process of a distributed run gets its own
    batches of the same epoch.
    """

    def __init__(self, dataset, labelled, unlabelled, batch_size, source_ratio=(1, 1), seed=0,
                 num_batches=None):
        if not labelled:
            raise ValueError('ActivePoolSampler: no labelled image to train on')
        self.dataset, self.pool_size = dataset, len(dataset) // 2
        self.labelled, self.unlabelled = list(labelled), list(unlabelled)
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0
        n_lab = batch_size if not self.unlabelled or not source_ratio[1] else \
            max(1, round(batch_size * source_ratio[0] / sum(source_ratio)))
        if n_lab == batch_size and self.unlabelled and source_ratio[1]:
            raise ValueError(f'batch_size={batch_size} leaves no room for unlabelled images at '
                             f'source_ratio={tuple(source_ratio)}; use a larger batch size')
        self.per_batch = (n_lab, batch_size - n_lab)
        self.rank, self.world_size = get_dist_info()
        self.num_batches = num_batches or \
            math.ceil(math.ceil(len(self.labelled) / n_lab) / self.world_size)

    def set_epoch(self, epoch):
        self.epoch = epoch

    @staticmethod
    def _draw(ids, count, rng):
        out = []
        while len(out) < count:
            out += rng.sample(ids, len(ids))
        return out[:count]

    def __iter__(self):
        rng = random.Random(f'{self.seed}-{self.epoch}')
        total = self.num_batches * self.world_size
        n_lab, n_unl = self.per_batch
        lab = self._draw(self.labelled, total * n_lab, rng)
        unl = self._draw(self.unlabelled, total * n_unl, rng) if n_unl else []
        for b in range(self.rank, total, self.world_size):
            batch = lab[b * n_lab:(b + 1) * n_lab] + \
                [self.pool_size + i for i in unl[b * n_unl:(b + 1) * n_unl]]
            rng.shuffle(batch)  # no slot of the batch tells labelled from unlabelled
            yield from batch

    def __len__(self):
        return self.num_batches * self.batch_size
