"""What the TAAL sampler costs, measured on the same images and model in one run.

    python tools/benchmarks/sampler_cost.py [--models ssd300 faster_rcnn] [--repeat 3] \
        [--device cuda]

For SSD300 (300 px) and Faster R-CNN R50-FPN (512 px), random init, on the CPU (threads
as set) or a GPU:
* the sampler head (pooling + transformer + discriminator + BCE, forward and backward)
  as a share of one joint training step;
* the joint step against a bare-detector step on the labelled half of the batch;
* scoring throughput (backbone + neck + sampler) against the bare backbone + neck
  forward and against full detection inference (what uncertainty baselines run), in
  the unlabelled-only context and in the training context (each chunk of the batch
  size holds half scored images, half labelled companions whose outputs are dropped);
* the baselines' scoring on the same images: class-distribution uncertainty (predict's
  post-processing with every box's class probabilities carried along), the top-score
  uncertainty (predict) and, for SSD300, learning loss's module (backbone + neck + module);
* for SSD300, the paper's confidence-token sampler (transformer over the 8,732 priors):
  its share of a joint step and its scoring throughput against the pooled sampler's.
"""
import argparse
import copy
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tests'))
import taal_det  # noqa: E402,F401
from taal_det.models.class_probs import detections_with_class_probs  # noqa: E402
from taal_testing import (FASTER_RCNN, SAMPLER_CHANNELS, SSD300, build, detector_cfg,  # noqa
                          fake_batch, taal_cfg, total)

MODELS_UNDER_TEST = dict(ssd300=(SSD300, 300, 8), faster_rcnn=(FASTER_RCNN, 512, 4))


def timed(fn, repeat):
    def run():
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    run()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(path, size, batch_size, repeat, device='cpu'):
    model = build(taal_cfg(path))
    model.sampler = MODELS.build(dict(type='TransformerSampler', embed_dims=256, depth=1,
                                      num_heads=4, in_channels=model.sampler.in_channels))
    model, bare = model.to(device), build(detector_cfg(path)).to(device)
    half = batch_size // 2
    mixed = fake_batch(batch_size, size, labelled=[1] * half + [0] * half)
    labelled = fake_batch(half, size)
    data = model.data_preprocessor(copy.deepcopy(mixed), True)
    data_l = bare.data_preprocessor(copy.deepcopy(labelled), True)

    def joint_step():
        model.zero_grad()
        total(model(**copy.deepcopy(data), mode='loss')).backward()

    def bare_step():
        bare.zero_grad()
        total(bare(**copy.deepcopy(data_l), mode='loss')).backward()

    with torch.no_grad():
        feats = [f.detach() for f in model.extract_feat(data['inputs'])]
    target = torch.tensor([1.0] * half + [0.0] * half, device=device)

    def head_step():
        leaves = [f.clone().requires_grad_() for f in feats]
        logits, _ = model.sampler(leaves)
        (0.5 * F.binary_cross_entropy_with_logits(logits, target)).backward()

    model.train()
    t_joint, t_bare, t_head = timed(joint_step, repeat), timed(bare_step, repeat), \
        timed(head_step, repeat)
    model.eval()
    eval_data = model.data_preprocessor(copy.deepcopy(fake_batch(batch_size, size)), False)
    companions = model.data_preprocessor(fake_batch(batch_size - half, size, seed=1),
                                         False)['inputs']
    context_inputs = torch.cat([eval_data['inputs'][:half], companions])
    with torch.no_grad():
        t_feat = timed(lambda: model.extract_feat(eval_data['inputs']), repeat)
        t_score = timed(lambda: model.score(eval_data['inputs']), repeat)
        t_context = timed(lambda: model.score(context_inputs)[0][:half], repeat)
        t_pred = timed(lambda: model.predict(eval_data['inputs'], eval_data['data_samples']),
                       repeat)
        t_probs = timed(lambda: detections_with_class_probs(
            model.detector, eval_data['inputs'], eval_data['data_samples']), repeat)
        t_ll4al = t_conf_joint = t_conf_head = t_conf_score = None
        if path == SSD300:
            conf = build(dict(taal_cfg(path), sampler=dict(
                type='ConfidenceTokenSampler', num_priors=8732, num_classes=21,
                batch_size=batch_size, embed_dims=256, num_heads=4))).to(device)
            conf_inputs = conf.sampler_inputs(feats)

            def conf_joint_step():
                conf.zero_grad()
                total(conf(**copy.deepcopy(data), mode='loss')).backward()

            def conf_head_step():
                logits, _ = conf.sampler(conf_inputs.clone().requires_grad_())
                (0.5 * F.binary_cross_entropy_with_logits(logits, target)).backward()
            conf.train()
            with torch.enable_grad():
                t_conf_joint = timed(conf_joint_step, repeat)
                t_conf_head = timed(conf_head_step, repeat)
            conf.eval()
            t_conf_score = timed(lambda: conf.score(eval_data['inputs']), repeat)
            ll4al = build(dict(type='LossPredictionDetector', detector=detector_cfg(path),
                               loss_module=dict(type='LossPredictionModule',
                                                in_channels=SAMPLER_CHANNELS[path])))
            ll4al = ll4al.to(device).eval()
            t_ll4al = timed(lambda: ll4al.predicted_loss(eval_data['inputs']), repeat)
    return dict(joint=t_joint, bare=t_bare, head=t_head, feat=t_feat, score=t_score,
                context=t_context, pred=t_pred,
                probs=t_probs, ll4al=t_ll4al, conf_joint=t_conf_joint, conf_head=t_conf_head,
                conf_score=t_conf_score, batch=batch_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODELS_UNDER_TEST),
                        choices=list(MODELS_UNDER_TEST))
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu', help='cpu, or cuda on a GPU machine')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=True)
    for name in args.models:
        path, size, batch = MODELS_UNDER_TEST[name]
        r = measure(path, size, batch, args.repeat, args.device)
        n = r['batch']
        where = f'{args.threads} threads' if args.device == 'cpu' else args.device
        print(f'\n{name} at {size} px, batch {n} ({n // 2} labelled + {n // 2} unlabelled), '
              f'{where}, median of {args.repeat}')
        print(f"  joint step {r['joint']:.3f} s; sampler head {r['head'] * 1000:.1f} ms = "
              f"{100 * r['head'] / r['joint']:.2f} % of it (goal <= 1 %)")
        print(f"  bare detector step on the {n // 2} labelled images {r['bare']:.3f} s: the "
              f"joint step costs x{r['joint'] / r['bare']:.2f}")
        print(f"  images/s: backbone+neck {n / r['feat']:.2f}, TAAL scoring {n / r['score']:.2f} "
              f"(x{r['feat'] / r['score']:.3f} of backbone+neck, goal >= 0.95), full inference "
              f"{n / r['pred']:.2f} (TAAL scoring is x{r['pred'] / r['score']:.2f} faster)")
        print(f"  training-context scoring: {n // 2 / r['context']:.2f} scored images/s "
              f"(x{(n // 2 / r['context']) / (n / r['score']):.2f} of the unlabelled-only "
              f"context: each forward carries {n - n // 2} companions)")
        print(f"  baselines' scoring, images/s: class-distribution uncertainty "
              f"{n / r['probs']:.2f} (x{r['pred'] / r['probs']:.3f} of predict, x"
              f"{r['score'] / r['probs']:.2f} of TAAL scoring), top-score uncertainty "
              f"(predict) {n / r['pred']:.2f}"
              + (f", learning loss {n / r['ll4al']:.2f}" if r['ll4al'] else ''))
        if r['conf_joint']:
            print(f"  confidence-token sampler: joint step {r['conf_joint']:.3f} s, its head "
                  f"{r['conf_head']:.3f} s = {100 * r['conf_head'] / r['conf_joint']:.1f} % of "
                  f"it; scoring {n / r['conf_score']:.2f} images/s (x"
                  f"{r['conf_score'] / r['score']:.2f} the pooled sampler's scoring time)")


if __name__ == '__main__':
    main()
