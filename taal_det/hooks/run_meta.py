"""What a run records about its protocol in ``al_results.json`` (``meta``): the settings
``tools/al_report.py`` checks before it compares runs."""
import json
import os

from taal_det.pool import pool_digest
from .restart import unwrapped_model


def describe_test_set(runner):
    """The validation set's size, annotation file (a local one made absolute) and a digest
    of its images' content (what identifies it across machines and folders; None where a
    dataset gives no ``img_id``), or None without validation."""
    if runner.val_loop is None:
        return None
    dataset = runner.val_dataloader.dataset
    infos = [dataset.get_data_info(i) for i in range(len(dataset))] \
        if hasattr(dataset, 'get_data_info') else []
    ann_file = getattr(dataset, 'ann_file', None)
    if ann_file and '://' not in ann_file:  # a local path; a URL stays as it is
        ann_file = os.path.abspath(ann_file)
    return dict(images=len(dataset), ann_file=ann_file,
                digest=content_digest(infos) if len(infos) == len(dataset) else None)


def content_digest(infos):
    """A short fingerprint of images by id, size and boxes with their labels (two scene
    sets with the same image names but other pictures differ); None without ids."""
    lines = []
    for info in infos:
        if info.get('img_id') is None:
            return None
        boxes = sorted((list(map(float, inst['bbox'])), int(inst['bbox_label']))
                       for inst in info.get('instances', ()))
        lines.append(json.dumps([str(info['img_id']), info.get('width'), info.get('height'),
                                 boxes]))
    return pool_digest(lines)


def detector_type(model):
    """The detector's type with its parts' (e.g. ``SingleStageDetector(EfficientNetLite,
    SSDNeck, SSDHead)``): SSD300 and an SSD-Lite share the detector class."""
    detector = getattr(model, 'detector', model)
    parts = [type(getattr(detector, name)).__name__
             for name in ('backbone', 'neck', 'rpn_head', 'roi_head', 'bbox_head')
             if getattr(detector, name, None) is not None]
    return f'{type(detector).__name__}({", ".join(parts)})'


def run_meta(hook, runner):
    """The protocol of ``hook``'s run: strategy, budget, cycle length, seed, pool, initial
    split, test set (described once, before training), metric and model types."""
    model = unwrapped_model(runner)
    return dict(label=hook.label, strategy=hook.strategy_cfg, selection=repr(hook.strategy),
                budget=hook.budget,
                cycles=hook.cycles, test_set=hook.test_set,
                epochs_per_cycle=hook.epochs_per_cycle, iters_per_cycle=hook.iters_per_cycle,
                seed=hook.seed, pool_size=len(hook.ids), pool_digest=hook.pool.digest,
                initial=hook.pool.initial_dict(), subset=hook.subset,
                warm_start=hook.warm_start, score_context=hook.score_context,
                source_ratio=list(hook.source_ratio),
                metric=hook.metric_key, model=type(model).__name__,
                detector=detector_type(model))
