"""Refuse train transforms that let an image's boxes steer what a TAAL model sees.

An unlabelled image goes through the train pipeline without its boxes. A transform whose
pixels, random draws or decision to drop the sample depend on the boxes gives the
labelled and the unlabelled view of one image different distributions (a box-driven
crop only for labelled images, say), and the sampler learns that instead of
informativeness. Each entry: the condition under which a transform is box-dependent,
and what to use instead.
"""
BOX_DEPENDENT = {
    'MinIoURandomCrop': (lambda t: True, "RandomCrop(crop_type='relative_range', "
                         'crop_size=(0.3, 0.3), allow_negative_crop=True)'),
    'RandomCrop': (lambda t: not t.allow_negative_crop, 'allow_negative_crop=True'),
    'RandomCenterCropPad': (lambda t: not t.test_mode,
                            'RandomCrop(allow_negative_crop=True) followed by Pad'),
    'RandomShift': (lambda t: True, 'TranslateX / TranslateY'),
    'FilterAnnotations': (lambda t: t.keep_empty, 'keep_empty=False'),
    'Albu': (lambda t: t.skip_img_without_anno or 'BBox' in str(t.transforms),
             'skip_img_without_anno=False and no box-aware albumentations crop'),
    'InstaBoost': (lambda t: True, 'no instance-level augmentation'),
    'Mosaic': (lambda t: True, 'single-image augmentation'),
    'CachedMosaic': (lambda t: True, 'single-image augmentation'),
    'MixUp': (lambda t: True, 'single-image augmentation'),
    'CachedMixUp': (lambda t: True, 'single-image augmentation'),
    'CopyPaste': (lambda t: True, 'single-image augmentation'),
    'RandomSamplingNegPos': (lambda t: True, 'a fixed caption listing every class'),
}


def _transforms(obj):
    """Every transform of a pipeline, wrappers' children included (RandomApply,
    RandomChoice, RandomOrder, MultiBranch, Compose)."""
    if isinstance(obj, (list, tuple)):
        for child in obj:
            yield from _transforms(child)
        return
    yield obj
    if type(obj).__name__ == 'Albu':  # its transforms are albumentations configs
        return
    for attr in ('transforms', 'branch_pipelines'):
        child = getattr(obj, attr, None)
        yield from _transforms(list(child.values()) if isinstance(child, dict) else child or [])


def check_box_independent(pipeline, where='train pipeline'):
    """Raise ``ValueError`` naming the first box-dependent transform of ``pipeline``
    (subclasses of a listed transform included)."""
    for transform in _transforms(pipeline):
        name = next((c.__name__ for c in type(transform).__mro__ if c.__name__ in BOX_DEPENDENT),
                    None)
        rule = BOX_DEPENDENT.get(name)
        if rule and rule[0](transform):
            raise ValueError(f'{where}: {name} depends on the ground-truth boxes, which '
                             "unlabelled images do not have, so a TAAL sampler could tell "
                             f'the two apart by it; use {rule[1]} instead')


def check_pool_pipelines(dataset, where='train pipeline'):
    """Check the train pipeline of a pool dataset: of each part of a ConcatDataset, and
    of the dataset inside a wrapper (RepeatDataset, ClassBalancedDataset)."""
    if getattr(dataset, 'datasets', None):
        for k, part in enumerate(dataset.datasets):
            check_pool_pipelines(part, f'{where} of dataset {k}')
    elif getattr(dataset, 'pipeline', None) is not None:
        check_box_independent(dataset.pipeline, where)
    elif getattr(dataset, 'dataset', None) is not None:
        check_pool_pipelines(dataset.dataset, where)
