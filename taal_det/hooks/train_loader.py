"""The train dataloader of a cycle: the pool's labelled images (plus unlabelled ones for
models that train on them) in ActivePoolSampler's batches, with what the user's
train_dataloader sets kept where it can be (batch sampler for labelled-only models,
collate_fn, workers). ``drop_last`` has nothing to drop: every batch is full, the last one
filled with labelled images drawn again."""
import copy
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmengine.runner import Runner

from taal_det.datasets import ActivePoolDataset, ActivePoolSampler


def seed_worker(worker_id):
    """Seed a worker's ``random``, numpy and torch from its torch seed (which torch draws
    from the main process's generator when an epoch's iterator starts: the hook reseeds
    that generator every epoch) and the process rank: augmentation differs between epochs
    and ranks and, without persistent workers, repeats after a resume."""
    seed = (torch.initial_seed() + 1000003 * get_rank()) % 2 ** 32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_pool_loader(cfg, dataset, labelled, unlabelled, source_ratio, num_batches, seed,
                      trains_on_unlabelled):
    """A DataLoader over ``ActivePoolDataset(dataset)``; ``cfg`` is the user's
    train_dataloader config."""
    num_workers = cfg.get('num_workers', 0)
    loader = dict(
        dataset=ActivePoolDataset(dataset), batch_size=cfg.batch_size, num_workers=num_workers,
        persistent_workers=bool(cfg.get('persistent_workers', False) and num_workers),
        pin_memory=cfg.get('pin_memory', False),
        sampler=dict(type='ActivePoolSampler', labelled=labelled,
                     unlabelled=unlabelled if trains_on_unlabelled else [],
                     batch_size=cfg.batch_size, source_ratio=source_ratio,
                     num_batches=num_batches),
        worker_init_fn=dict(type=seed_worker),
        collate_fn=copy.deepcopy(cfg.get('collate_fn', dict(type='pseudo_collate'))))
    # refused for models trained on unlabelled images before training (check_inputs)
    batch_sampler = None if trains_on_unlabelled else cfg.get('batch_sampler')
    if batch_sampler:
        loader['batch_sampler'] = copy.deepcopy(batch_sampler)
        print_log(f"active learning: batches grouped by the train_dataloader's "
                  f"{batch_sampler.get('type')}", logger='current')
    return Runner.build_dataloader(loader, seed=seed)


def pool_sampler(loader):
    """The ActivePoolSampler of a loader built here (behind the user's batch sampler, if
    any)."""
    sampler = getattr(loader.batch_sampler, 'sampler', None)
    return sampler if isinstance(sampler, ActivePoolSampler) else loader.sampler
