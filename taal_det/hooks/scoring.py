"""Run a model over pool images in fixed chunks and collect what strategies need.

Chunks are consecutive slices of the sorted ids, so an image is always scored with
the same companions, whatever the number of processes: process ``r`` of ``w`` takes
chunks ``r, r + w, ...`` and the results are gathered on every process.

Two contexts for a sampler whose transformer attends across the batch: chunks of the
scored images only, or the training context, where each chunk is completed with fixed
companion images of the other kind in the training ratio (their outputs discarded).
"""
import sys

import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset

from taal_det.models.class_probs import detections_with_class_probs
from taal_det.strategies import PoolOutputs


class _ImagesWithoutAnnotations(Dataset):
    """Images (dataset, index) through an inference pipeline; annotations never loaded."""

    def __init__(self, images, pipeline):
        self.images, self.pipeline = list(images), Compose(pipeline)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        dataset, index = self.images[i]
        info = dataset.get_data_info(index)
        info['instances'] = []
        return self.pipeline(info)


def pooled_features(feats):
    """Global-average-pool and concatenate feature levels: one vector per image."""
    return torch.cat([f.mean((2, 3)) for f in feats], 1)


@torch.no_grad()
def _run_chunk(model, batch, needs, pre_nms_topk=None):
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    out = {}
    if 'sampler_scores' in needs or 'features' in needs:
        if hasattr(model, 'score'):
            scores, tokens = model.score(inputs)
            out['sampler_scores'], out['features'] = scores.float().cpu(), tokens.float().cpu()
        else:
            out['features'] = pooled_features(model.extract_feat(inputs)).float().cpu()
    if 'predicted_loss' in needs:
        out['predicted_loss'] = model.predicted_loss(inputs).float().cpu()
    if 'box_scores' in needs:
        preds = model.predict(inputs, samples)
        out['box_scores'] = [p.pred_instances.scores.float().cpu() for p in preds]
    if 'box_probs' in needs:
        detections, background_last = detections_with_class_probs(
            getattr(model, 'detector', model), inputs, samples, pre_nms_topk=pre_nms_topk)
        out['box_probs'] = [d.class_probs.float().cpu() for d in detections]
        out['background_last'] = background_last
    return out


class Companions:
    """Fixed images that complete every scoring chunk (the training context).

    Chunk ``c`` gets the ``count`` companions that follow ``c * count`` in the sorted
    ids, cyclically: deterministic, whatever the number of processes.
    """

    def __init__(self, dataset, ids, index_of, count):
        self.dataset, self.ids, self.index_of = dataset, sorted(ids), index_of
        self.count = count  # fewer ids than slots: they repeat, so every chunk is full

    def __call__(self, chunk):
        n = len(self.ids)
        return [(self.dataset, self.index_of[self.ids[(chunk * self.count + j) % n]])
                for j in range(self.count)]


def score_images(model, dataset, ids, index_of, pipeline, needs, chunk_size, fixed_size=False,
                 num_workers=0, progress=True, companions=None, pre_nms_topk=None):
    """Score ``ids`` (sorted here) and return :class:`PoolOutputs` on every process.

    ``chunk_size`` scored images per chunk, plus ``companions`` (a :class:`Companions`)
    when given. ``fixed_size``: the model needs exactly that many images per forward;
    the last chunk is padded with its own first images and the padding's outputs dropped.
    ``pre_nms_topk``: ``box_probs`` of the top-k priors / proposals instead of the kept
    detections.
    """
    ids = sorted(ids)
    rank, world = get_dist_info()
    chunks = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
    numbered = list(enumerate(chunks))[rank::world]
    mine = [c for _, c in numbered]
    images, offsets = [], []
    for k, c in numbered:
        part = c + (c * chunk_size)[:chunk_size - len(c)] if fixed_size else c
        batch = [(dataset, index_of[i]) for i in part] + (companions(k) if companions else [])
        offsets.append(list(range(len(images), len(images) + len(batch))))
        images += batch
    loader = DataLoader(_ImagesWithoutAnnotations(images, pipeline), batch_sampler=offsets,
                        collate_fn=pseudo_collate, num_workers=num_workers)
    bar = ProgressBar(len(chunks), file=sys.stdout) if progress and rank == 0 else None
    local = []
    was_training = model.training
    model.eval()
    try:
        for chunk, batch in zip(mine, loader):
            out = _run_chunk(model, batch, needs, pre_nms_topk)
            local.append((chunk, {k: v if k == 'background_last' else v[:len(chunk)]
                                  for k, v in out.items()}))
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
    for key in ('sampler_scores', 'features', 'predicted_loss'):
        if parts and key in parts[0][1]:
            fields[key] = torch.cat([out[key] for _, out in parts])
    for key in ('box_scores', 'box_probs'):
        if parts and key in parts[0][1]:
            fields[key] = [s for _, out in parts for s in out[key]]
    if parts and 'background_last' in parts[0][1]:
        fields['background_last'] = parts[0][1]['background_last']
    return PoolOutputs(ids=ids, **fields)


class PoolScorer:
    """Scores pool (or test) images for the strategies and the sampler's health.

    ``per_batch`` = (labelled, unlabelled) images of a training batch selects the training
    context: images scored as unlabelled fill the unlabelled slots of each chunk, the
    labelled slots hold fixed labelled companions, and the other way round for images
    scored as labelled. ``None``: chunks of ``chunk_size`` scored images only.
    """

    def __init__(self, model, dataset, index_of, pipeline, chunk_size, per_batch=None,
                 num_workers=0, progress=True, pre_nms_topk=None):
        sampler = getattr(model, 'sampler', None)
        self.fixed = getattr(sampler, 'fixed_batch', False)
        self.chunk_size = sampler.batch_size if self.fixed and not per_batch else chunk_size
        self.model, self.dataset, self.index_of = model, dataset, index_of
        self.pipeline, self.per_batch = pipeline, per_batch
        self.num_workers, self.progress = num_workers, progress
        self.pre_nms_topk = pre_nms_topk

    def score(self, ids, needs, as_labelled=False, companions=(), dataset=None, index_of=None):
        """PoolOutputs of ``ids``; ``companions``: pool ids of the other kind (training
        context only)."""
        size, others = self.chunk_size, None
        if self.per_batch and companions and min(self.per_batch):
            n_lab, n_unl = self.per_batch
            size = n_lab if as_labelled else n_unl
            others = Companions(self.dataset, companions, self.index_of,
                                n_unl if as_labelled else n_lab)
        return score_images(self.model, dataset or self.dataset, ids, index_of or self.index_of,
                            self.pipeline, needs, size, fixed_size=self.fixed,
                            num_workers=self.num_workers, progress=self.progress,
                            companions=others, pre_nms_topk=self.pre_nms_topk)
