import pytest
import torch
from mmdet.datasets import VOCDataset

from taal_det.datasets import ActivePoolDataset, ActivePoolSampler, image_ids


@pytest.fixture
def pool(scenes_root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    return ActivePoolDataset(VOCDataset(
        data_root=scenes_root, ann_file='ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root=''), pipeline=pipeline,
        metainfo=dict(classes=('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
                               'shirt', 'sneaker', 'bag', 'ankle_boot'))))


def test_unlabelled_view_has_no_annotations_and_says_so(pool):
    n = len(pool.dataset)
    labelled, unlabelled = pool[3], pool[n + 3]
    assert labelled['data_samples'].al_labelled and not unlabelled['data_samples'].al_labelled
    assert len(labelled['data_samples'].gt_instances) > 0
    assert len(unlabelled['data_samples'].gt_instances) == 0
    assert torch.equal(labelled['inputs'], unlabelled['inputs'])
    assert pool.dataset.get_data_info(3)['instances']  # the dataset itself is untouched


def test_image_ids_are_the_voc_ids(pool):
    ids = image_ids(pool.dataset)
    assert ids[0] == 'tv_00000' and len(set(ids)) == len(ids) == 24


def test_sampler_mixes_batches_in_ratio_and_redraws_unlabelled(pool):
    n = len(pool.dataset)
    sampler = ActivePoolSampler(pool, labelled=[0, 1, 2, 3, 4], unlabelled=list(range(5, 24)),
                                batch_size=4, source_ratio=(1, 1), seed=0)
    first = list(sampler)
    assert len(first) == len(sampler) == 3 * 4  # ceil(5 labelled / 2 per batch) batches
    batches = [first[4 * b:4 * b + 4] for b in range(3)]
    for batch in batches:
        assert sum(i < 5 for i in batch) == 2 and sum(i >= n + 5 for i in batch) == 2
    # Shuffled within the batch: no slot says labelled or unlabelled.
    assert {tuple(i < n for i in batch) for batch in batches} != {(True, True, False, False)}
    assert {i for i in first if i < n} == {0, 1, 2, 3, 4}  # one pass over the labelled set
    sampler.set_epoch(1)
    second = list(sampler)
    assert [i for i in second if i >= n] != [i for i in first if i >= n]
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_sampler_without_unlabelled_and_bad_ratio(pool):
    only = ActivePoolSampler(pool, labelled=[0, 1, 2], unlabelled=[], batch_size=2)
    assert all(i < 3 for i in only) and len(only) == 4
    with pytest.raises(ValueError, match='no room for unlabelled'):
        ActivePoolSampler(pool, labelled=[0], unlabelled=[1], batch_size=1)
    with pytest.raises(ValueError, match='no labelled image'):
        ActivePoolSampler(pool, labelled=[], unlabelled=[1], batch_size=2)


def test_distributed_ranks_get_disjoint_batches_of_one_epoch(pool, monkeypatch):
    import taal_det.datasets.active_pool as ap
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(ap, 'get_dist_info', lambda r=rank: (r, 2))
        s = ActivePoolSampler(pool, labelled=list(range(7)), unlabelled=list(range(7, 24)),
                              batch_size=4, seed=3)
        per_rank.append(list(s))
    assert len(per_rank[0]) == len(per_rank[1]) == 2 * 4
    assert {i for i in per_rank[0] + per_rank[1] if i < 24} == set(range(7))


def test_concatenated_datasets_keep_their_own_pipelines(scenes_root):
    """VOC07+12 pools are mmengine ConcatDatasets of two VOCDatasets."""
    from mmengine.dataset import ConcatDataset
    classes = dict(classes=('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt',
                            'sneaker', 'bag', 'ankle_boot'))
    parts = [VOCDataset(data_root=scenes_root, ann_file=f'ImageSets/Main/{split}.txt',
                        data_prefix=dict(sub_data_root=''), metainfo=classes,
                        pipeline=[dict(type='LoadImageFromFile'),
                                  dict(type='LoadAnnotations', with_bbox=True),
                                  dict(type='Resize', scale=(size, size), keep_ratio=False),
                                  dict(type='PackDetInputs')])
             for split, size in (('trainval', 32), ('test', 48))]
    pool = ActivePoolDataset(ConcatDataset(parts))
    ids = image_ids(pool.dataset)
    assert len(ids) == 32 and ids[24] == 'te_00000'
    assert pool[0]['inputs'].shape[-1] == 32 and pool[24]['inputs'].shape[-1] == 48
    assert len(pool[32 + 24]['data_samples'].gt_instances) == 0


def test_a_dataset_without_image_ids_is_refused():
    class NoIds:
        def __len__(self):
            return 2

        def get_data_info(self, i):
            return dict(img_path=f'{i}.jpg')
    with pytest.raises(TypeError, match='cannot be restricted by image ids'):
        image_ids(NoIds())
    with pytest.raises(TypeError, match='no get_data_info'):
        image_ids([1, 2])


def test_worker_augmentation_differs_between_epochs_and_repeats_after_a_resume(scenes_root):
    """num_workers > 0: each epoch's workers draw new random flips (here even with the
    same image order, so only the workers' seeds can differ); the same epoch, seeded as
    the hook seeds it, gives the same images again (what a resumed run sees)."""
    from mmengine.config import ConfigDict

    from taal_det.hooks.train_loader import build_pool_loader
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='RandomFlip', prob=0.5), dict(type='PackDetInputs')]
    dataset = VOCDataset(data_root=scenes_root, ann_file='ImageSets/Main/trainval.txt',
                         data_prefix=dict(sub_data_root=''), pipeline=pipeline,
                         metainfo=dict(classes=('tshirt', 'trouser')))
    cfg = ConfigDict(batch_size=4, num_workers=2, persistent_workers=False)

    def epoch_images(epoch):
        torch.manual_seed(1000 + epoch)  # the hook reseeds the main process every epoch
        loader = build_pool_loader(cfg, dataset, list(range(8)), [], (1, 1), None, 0, False)
        loader.sampler.set_epoch(0)  # the same order every time
        return {s.img_id: (s.flip, float(x.float().sum()))
                for batch in loader for x, s in zip(batch['inputs'], batch['data_samples'])}
    first, second = epoch_images(0), epoch_images(1)
    assert {k: v[0] for k, v in first.items()} != {k: v[0] for k, v in second.items()}
    assert epoch_images(1) == second


def test_the_users_collate_fn_and_workers_are_kept_and_every_batch_is_full(scenes_root):
    """drop_last has nothing to drop: the last batch is filled with labelled images drawn
    again."""
    from mmengine.config import ConfigDict

    from taal_det.hooks.train_loader import build_pool_loader
    dataset = VOCDataset(data_root=scenes_root, ann_file='ImageSets/Main/trainval.txt',
                         data_prefix=dict(sub_data_root=''), lazy_init=True,
                         metainfo=dict(classes=('tshirt', 'trouser')))
    cfg = ConfigDict(batch_size=4, num_workers=1, persistent_workers=True, pin_memory=True,
                     collate_fn=dict(type='default_collate'))
    loader = build_pool_loader(cfg, dataset, list(range(5)), [], (1, 1), None, 0, False)
    assert loader.collate_fn.func.__name__ == 'default_collate'
    assert loader.persistent_workers and loader.pin_memory and loader.num_workers == 1
    assert [len(b) for b in loader.batch_sampler] == [4, 4]
