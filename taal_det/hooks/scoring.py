"""Run a model over pool images in fixed chunks and collect what strategies need.

Chunks are consecutive slices of the sorted ids, so an image is always scored with
the same companions, whatever the number of processes: process ``r`` of ``w`` takes
chunks ``r, r + w, ...`` and the results are gathered on every process.
"""
import sys

import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

from taal_det.strategies import PoolOutputs


class _ImagesWithoutAnnotations(Dataset):
    """Pool images through an inference pipeline; annotations are never loaded."""

    def __init__(self, dataset, indices, pipeline):
        self.dataset, self.indices, self.pipeline = dataset, list(indices), Compose(pipeline)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        info = self.dataset.get_data_info(self.indices[i])
        info['instances'] = []
        return self.pipeline(info)


def pooled_features(feats):
    """Global-average-pool and concatenate feature levels: one vector per image."""
    return torch.cat([f.mean((2, 3)) for f in feats], 1)


@torch.no_grad()
def _run_chunk(model, batch, needs):
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    out = {}
    if 'sampler_scores' in needs or 'features' in needs:
        if hasattr(model, 'score'):
            scores, tokens = model.score(inputs)
            out['sampler_scores'], out['features'] = scores.float().cpu(), tokens.float().cpu()
        else:
            out['features'] = pooled_features(model.extract_feat(inputs)).float().cpu()
    if 'box_scores' in needs:
        preds = model.predict(inputs, samples)
        out['box_scores'] = [p.pred_instances.scores.float().cpu() for p in preds]
    return out


def score_images(model, dataset, ids, index_of, pipeline, needs, chunk_size, fixed_size=False,
                 num_workers=0, progress=True):
    """Score ``ids`` (sorted here) and return :class:`PoolOutputs` on every process.

    ``fixed_size``: the model needs exactly ``chunk_size`` images per forward; the last
    chunk is padded with its own first images and the padding's outputs dropped.
    """
    ids = sorted(ids)
    rank, world = get_dist_info()
    chunks = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
    mine = chunks[rank::world]
    padded = [c + (c * chunk_size)[:chunk_size - len(c)] if fixed_size else c for c in mine]
    flat = [index_of[i] for c in padded for i in c]
    offsets, start = [], 0
    for c in padded:
        offsets.append(list(range(start, start + len(c))))
        start += len(c)
    loader = DataLoader(_ImagesWithoutAnnotations(dataset, flat, pipeline), batch_sampler=offsets,
                        collate_fn=pseudo_collate, num_workers=num_workers)
    bar = ProgressBar(len(chunks), file=sys.stdout) if progress and rank == 0 else None
    local = []
    was_training = model.training
    model.eval()
    try:
        for chunk, batch in zip(mine, loader):
            out = _run_chunk(model, batch, needs)
            local.append((chunk, {k: v[:len(chunk)] for k, v in out.items()}))
            if bar:
                for _ in range(world):
                    bar.update()
    finally:
        model.train(was_training)
    if bar:
        sys.stdout.write('\n')
    gathered = all_gather_object(local) if world > 1 else [local]
    return _merge([part for parts in gathered for part in parts])


def _merge(parts):
    parts.sort(key=lambda p: p[0][0])
    ids = [i for chunk, _ in parts for i in chunk]
    fields = {}
    for key in ('sampler_scores', 'features'):
        if parts and key in parts[0][1]:
            fields[key] = torch.cat([out[key] for _, out in parts])
    if parts and 'box_scores' in parts[0][1]:
        fields['box_scores'] = [s for _, out in parts for s in out['box_scores']]
    return PoolOutputs(ids=ids, **fields)
