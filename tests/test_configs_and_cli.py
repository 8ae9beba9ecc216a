import glob
import os
import sys

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

from taal_testing import ROOT

sys.path.insert(0, os.path.join(ROOT, 'tools'))
import al_train  # noqa: E402

CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True))
TOP = [c for c in CONFIGS if '_base_' not in c]


@pytest.mark.parametrize('path', TOP, ids=[os.path.relpath(c, ROOT) for c in TOP])
def test_every_config_builds_a_taal_model_and_has_the_hook(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['taal_det']
    hook = al_train.find_pool_hook(cfg)
    assert cfg.train_cfg.max_epochs % hook['cycles'] == 0
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'TAALDetector'


def test_voc_configs_follow_the_voc2007_protocol():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'voc_ssd_taal.py'))
    assert cfg.train_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/trainval.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    assert cfg.val_evaluator.eval_mode == '11points'
    assert cfg.model.detector.backbone.init_cfg.checkpoint == 'open-mmlab://vgg16_caffe'


def test_cli_overrides_and_baselines_train_the_bare_detector():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    args = al_train.parse_args(['x.py', '--budget', '7', '--cycles', '3', '--strategy', 'random',
                                '--seed', '4', '--epochs-per-cycle', '2'])
    al_train.apply_overrides(cfg, args)
    hook = al_train.find_pool_hook(cfg)
    assert (hook['budget'], hook['cycles'], hook['seed']) == (7, 3, 4)
    assert hook['strategy'] == dict(type='RandomStrategy')
    assert cfg.model.type == 'SingleStageDetector' and cfg.model.data_preprocessor
    assert cfg.train_dataloader.batch_size == 4  # the labelled half of TAAL's batch of 8
    assert cfg.train_cfg.max_epochs == 6 and cfg.randomness.seed == 4
    assert cfg.default_hooks.checkpoint.interval == 2  # a checkpoint at every cycle end
    jls = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    al_train.apply_overrides(jls, al_train.parse_args(['x.py', '--strategy', 'jls']))
    assert jls.model.sampler.layout == 'none'


def test_cli_refuses_a_missing_data_root_and_a_config_without_the_hook(tmp_path, capsys):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(SystemExit, match='data_root .* does not exist'):
        al_train.main([os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'),
                       '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                       f'train_dataloader.dataset.data_root={missing}'])
    assert not os.path.exists(tmp_path / 'w')
    bare = tmp_path / 'bare.py'
    bare.write_text("model = dict(type='SSD')\n")
    with pytest.raises(SystemExit, match='no ActivePoolHook'):
        al_train.main([str(bare)])


def test_taal_random_control_keeps_the_joint_model_and_selects_at_random():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', 'taal-random',
                                                       '--iters-per-cycle', '24']))
    hook = al_train.find_pool_hook(cfg)
    assert cfg.model.type == 'TAALDetector' and cfg.model.sampler.get('layout') is None
    assert hook['strategy'] == dict(type='RandomStrategy') and hook['label'] == 'taal-random'
    assert hook['iters_per_cycle'] == 24 and cfg.train_dataloader.batch_size == 8


def test_strategy_options_on_the_command_line_survive_a_change_of_strategy():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_taal.py'))
    args = al_train.parse_args(['x.py', '--strategy', 'uncertainty', '--cfg-options',
                                'custom_hooks.0.strategy.measure=margin',
                                'custom_hooks.0.strategy.pre_nms_topk=100',
                                'custom_hooks.0.label=unc-margin'])
    cfg.merge_from_dict(args.cfg_options)
    al_train.apply_overrides(cfg, args)
    hook = al_train.find_pool_hook(cfg)
    assert hook['strategy'] == dict(type='UncertaintyStrategy', measure='margin',
                                    pre_nms_topk=100)  # TAALStrategy's margin=0.1 is gone
    assert hook['label'] == 'unc-margin'


def test_ll4al_alias_wraps_the_bare_detector_in_a_loss_prediction_model():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', 'll4al',
                                                       '--epochs-per-cycle', '20']))
    assert cfg.model.type == 'LossPredictionDetector'
    assert cfg.model.detector.type == 'SingleStageDetector'
    assert cfg.model.loss_module.in_channels == [40, 112, 320, 256, 128]
    assert cfg.model.detach_from_epoch == 12  # 60 % of the cycle, as LL4AL's 120 of 200
    assert cfg.train_dataloader.batch_size == 4  # the labelled half, as other baselines
    assert al_train.find_pool_hook(cfg)['strategy'] == dict(type='LossPredictionStrategy')


def test_ll4al_detaches_at_60_percent_of_the_runs_own_cycle_whatever_the_flags():
    def detach(*flags):
        cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
        cfg.custom_hooks[0]['label'] = 'from-the-config'
        args = al_train.parse_args(['x.py', *flags])
        al_train.apply_overrides(cfg, args)
        return cfg.model.detach_from_epoch, al_train.find_pool_hook(cfg)['label']
    per_cycle = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    per_cycle = per_cycle.train_cfg.max_epochs // al_train.find_pool_hook(per_cycle)['cycles']
    expected = -(-per_cycle * 6 // 10)
    assert detach('--strategy', 'll4al', '--cycles', '2') == (expected, 'll4al')
    assert detach('--strategy', 'LL4AL', '--cycles', '8') == (expected, 'll4al')
    assert detach('--strategy', 'll4al', '--cycles', '2', '--epochs-per-cycle', '5')[0] == 3
    assert detach('--strategy', 'll4al', '--epochs-per-cycle', '5')[0] == 3
    assert detach('--strategy', 'll4al')[0] == expected
    assert detach('--strategy', 'll4al', '--iters-per-cycle', '100')[0] == expected
    assert detach('--strategy', 'll4al', '--epochs-per-cycle', '2')[0] == 1  # before the last


def test_learning_loss_options_reach_the_model_the_strategy_builds():
    # main merges --cfg-options into the config's TAAL model before --strategy wraps it.
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    args = al_train.parse_args(['x.py', '--strategy', 'll4al', '--cfg-options',
                                'model.detach_from_epoch=3', 'model.loss_module.hidden=64',
                                'model.margin=0.5', 'model.detector.bbox_head.num_classes=2'])
    cfg.merge_from_dict(args.cfg_options)
    al_train.apply_overrides(cfg, args)
    assert cfg.model.type == 'LossPredictionDetector'
    assert (cfg.model.detach_from_epoch, cfg.model.margin) == (3, 0.5)
    assert cfg.model.loss_module.hidden == 64
    assert cfg.model.loss_module.in_channels == [40, 112, 320, 256, 128]
    assert cfg.model.detector.bbox_head.num_classes == 2
    MODELS.build(cfg.model)


def test_ll4al_refuses_a_schedule_that_is_no_whole_number_of_cycles():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    cycles = al_train.find_pool_hook(cfg)['cycles']
    cfg.train_cfg.max_epochs = cycles * 3 + 1
    with pytest.raises(SystemExit, match=f'is not a multiple of cycles={cycles}'):
        al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', 'll4al']))


def test_a_loss_module_never_detached_within_the_cycle_is_warned_about():
    from types import SimpleNamespace
    from taal_det.hooks.options import never_detached
    assert never_detached(SimpleNamespace(detach_from_epoch=3), 5) is None
    assert never_detached(SimpleNamespace(detach_from_epoch=None), 5) is None
    assert never_detached(SimpleNamespace(), 5) is None  # not a loss-prediction model
    assert 'detach_from_epoch=5 is not inside a cycle of 5 epochs' in \
        never_detached(SimpleNamespace(detach_from_epoch=5), 5)


def test_options_for_the_pool_hook_are_read_at_its_index_only():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    cfg.custom_hooks.insert(0, dict(type='EmptyCacheHook'))
    args = al_train.parse_args(['x.py', '--strategy', 'uncertainty', '--cfg-options',
                                'custom_hooks.0.label=other', 'custom_hooks.0.strategy.x=1',
                                'custom_hooks.1.strategy.measure=margin'])
    al_train.apply_overrides(cfg, args)
    hook = al_train.find_pool_hook(cfg)
    assert hook['label'] == 'uncertainty'
    assert hook['strategy'] == dict(type='UncertaintyStrategy', measure='margin')


def test_cycles_of_a_config_whose_max_epochs_they_do_not_divide_are_refused():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    cfg.train_cfg.max_epochs = 50  # 4 cycles
    with pytest.raises(SystemExit, match='cannot tell the epochs per cycle'):
        al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--cycles', '2']))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--cycles', '2',
                                                       '--epochs-per-cycle', '5']))
    assert cfg.train_cfg.max_epochs == 10


def test_ll4al_trains_its_loss_module_at_the_original_rate_unless_the_config_says():
    from mmengine.optim import build_optim_wrapper
    from mmdet.registry import MODELS
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', 'll4al']))
    model = MODELS.build(cfg.model)
    rates = {id(p): group['lr'] for group in build_optim_wrapper(
        model, cfg.optim_wrapper).optimizer.param_groups for p in group['params']}
    assert {round(rates[id(p)], 9) for p in model.loss_module.parameters()} == {1e-3}
    assert {rates[id(p)] for p in model.detector.parameters() if p.requires_grad} == {0.05}
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
    cfg.optim_wrapper.paramwise_cfg = dict(norm_decay_mult=0.0, custom_keys=dict(
        loss_module=dict(lr_mult=0.5), neck=dict(decay_mult=0.0)))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', 'll4al']))
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.0, custom_keys=dict(
        loss_module=dict(lr_mult=0.5), neck=dict(decay_mult=0.0)))
    # A config that is a LossPredictionDetector already, under its own strategy, gets the
    # cap too (a decay_mult of its own stays); a rate at or under 1e-3 is left alone.
    for lr, expected in ((0.05, dict(decay_mult=0.0, lr_mult=0.02)), (1e-3, dict(decay_mult=0.0))):
        cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
        cfg.model = dict(type='LossPredictionDetector', detector=cfg.model.detector,
                         loss_module=dict(type='LossPredictionModule', in_channels=[1]))
        cfg.optim_wrapper.optimizer.lr = lr
        cfg.optim_wrapper.paramwise_cfg = dict(custom_keys=dict(loss_module=dict(decay_mult=0.0)))
        al_train.apply_overrides(cfg, al_train.parse_args(['x.py']))
        module = cfg.optim_wrapper.paramwise_cfg.custom_keys.loss_module
        assert dict(module) == pytest.approx(expected)


@pytest.mark.parametrize('name, size, params', [('voc_ssd_conf_taal.py', 300, 50.6),
                                                ('demo/fashion_lite0_conf_taal.py', 128, None)])
def test_confidence_sampler_configs_fit_their_heads(name, size, params):
    import torch

    from taal_det.models.confidence_sampler import head_confidences
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', name))
    cfg.model.detector.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        confidences = head_confidences(model.detector.bbox_head,
                                       model.extract_feat(torch.zeros(1, 3, size, size)))
    sampler = model.sampler
    assert confidences.shape[1:] == (sampler.num_priors, sampler.num_classes)
    assert sampler.batch_size == cfg.train_dataloader.batch_size
    if params:  # the figure the config states
        count = sum(p.numel() for p in sampler.parameters()) / 1e6
        assert round(count, 1) == params


@pytest.mark.parametrize('strategy', ['taal', 'random', 'uncertainty'])
def test_the_confidence_sampler_configs_take_the_cli_strategies(strategy):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_conf_taal.py'))
    al_train.apply_overrides(cfg, al_train.parse_args(['x.py', '--strategy', strategy]))
    assert (cfg.model.type == 'TAALDetector') == (strategy == 'taal')
    with pytest.raises(SystemExit):  # its sampler has no in_channels to size LL4AL's module
        al_train.apply_overrides(
            Config.fromfile(os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_conf_taal.py')),
            al_train.parse_args(['x.py', '--strategy', 'll4al']))


@pytest.mark.parametrize('name, stock', [
    ('voc_ssd_taal.py', 'pascal_voc/ssd300_voc0712.py'),
    ('voc_faster_rcnn_taal.py', 'pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py')])
def test_voc_learning_rates_match_mmdets_per_labelled_image(name, stock):
    from taal_testing import MMDET_CONFIGS
    ours = Config.fromfile(os.path.join(ROOT, 'configs', name))
    theirs = Config.fromfile(os.path.join(MMDET_CONFIGS, stock))
    labelled = ours.train_dataloader.batch_size // 2  # source_ratio 1:1
    per_image = theirs.optim_wrapper.optimizer.lr / theirs.auto_scale_lr.base_batch_size
    assert ours.optim_wrapper.optimizer.lr == pytest.approx(per_image * labelled)
    # --auto-scale-lr counts the whole batch: N processes give N x the one-process rate
    assert ours.auto_scale_lr.base_batch_size == ours.train_dataloader.batch_size


def test_a_finished_run_closes_its_process_group(tmp_path):
    # A gloo group left open at exit can abort a rank whose run finished.
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    al_train.end_distributed()
    assert not dist.is_initialized()
    al_train.end_distributed()  # nothing to close: no error
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store2"}', rank=0,
                            world_size=1)
    al_train.end_distributed(wait=False)  # after an error: closed without a barrier
    assert not dist.is_initialized()
