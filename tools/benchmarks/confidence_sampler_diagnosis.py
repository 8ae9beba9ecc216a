"""Can the confidence-token sampler learn labelled against unlabelled from a trained
detector's head confidences? The sampler alone, the detector held fixed.

    python tools/benchmarks/confidence_sampler_diagnosis.py \
        --run work_dirs/compare/dev_p50_T320/taal_seed100 shipped lr=0.005 \
        notrans,lr=0.005 prenorm,zeroinit,lr=0.005

The run's cycle-0 checkpoint gives the head's confidences of every pool and test image
(eval mode, cached beside it); a fresh ``ConfidenceTokenSampler`` of
``configs/demo/fashion_lite0_conf_taal.py`` trains on batches of 8 labelled (the run's
cycle-0 set) + 8 unlabelled images, shuffled, for one cycle's steps; then its pool AUC
(labelled against unlabelled, chunks of 16) and its unlabelled-against-test AUC. A variant
is ``name`` or comma-separated changes: ``lr=``, ``steps=``, ``init_seed=``,
``confidences=``, ``num_tokens=``, ``first_mult=`` (the first layer's rate), ``adam``,
``norm=center|bn`` (the inputs), ``prenorm``, ``zeroinit`` (the residual branches),
``notrans`` (no transformer).
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmdet.registry import DATASETS, MODELS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402

import taal_det  # noqa: E402,F401
from taal_det.checkpoint_compat import load_local_checkpoint  # noqa: E402
from taal_det.evaluation.sampler_health import roc_auc  # noqa: E402
from taal_det.models.confidence_sampler import (  # noqa: E402
    ConfidenceTokenSampler, head_confidences)

CONFIG = os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_conf_taal.py')


def cached_confidences(run, data_root, epoch):
    """{split: (ids, (N, P, C) head outputs)} of the run's checkpoint, cached in the run."""
    cache = os.path.join(run, f'head_confidences_epoch{epoch}.pt')
    if os.path.exists(cache):
        return torch.load(cache)
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model).eval()
    state = load_local_checkpoint(os.path.join(run, f'epoch_{epoch}.pth'), 'cpu')['state_dict']
    model.load_state_dict({k: v for k, v in state.items()
                           if k.startswith(('detector.', 'data_preprocessor.'))}, strict=False)
    out = {}
    for split in ('trainval', 'test'):
        dataset = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=data_root,
                                      ann_file=f'ImageSets/Main/{split}.txt'))
        ids, confidences = [], []
        for start in range(0, len(dataset), 16):
            batch = model.data_preprocessor(pseudo_collate(
                [dataset[i] for i in range(start, min(start + 16, len(dataset)))]), False)
            with torch.no_grad():
                feats = model.detector.extract_feat(batch['inputs'])
                confidences.append(head_confidences(model.detector.bbox_head, feats))
            ids += [sample.img_id for sample in batch['data_samples']]
        out[split] = (ids, torch.cat(confidences))
    torch.save(out, cache)
    return out


class NormedInputs(ConfidenceTokenSampler):
    """The sampler with its (softmax) inputs centred or batch-normalised per entry."""

    def __init__(self, norm, **kwargs):
        super().__init__(**kwargs)
        self.norm, self.softmax = norm, self.confidences == 'softmax'
        self.confidences = 'logits'  # the parent takes the normalised inputs as they are
        self.bn = torch.nn.BatchNorm1d(self.num_priors * self.num_classes, affine=False)

    def forward(self, confidences):
        x = confidences.softmax(-1) if self.softmax else confidences
        flat = x.flatten(1)
        if self.norm == 'bn':
            flat = self.bn(flat)
        elif self.training:
            mean = flat.mean(0)
            with torch.no_grad():
                self.bn.running_mean.mul_(0.9).add_(0.1 * mean)
            flat = flat - mean
        else:
            flat = flat - self.bn.running_mean
        return super().forward(flat.reshape(x.shape))


def build_sampler(opts, shape):
    torch.manual_seed(int(opts.get('init_seed', 0)))
    kwargs = dict(num_priors=shape[1], num_classes=shape[2], batch_size=16, embed_dims=128)
    for key in ('confidences', 'num_tokens'):
        if key in opts:
            kwargs[key] = int(opts[key]) if key == 'num_tokens' else opts[key]
    sampler = (NormedInputs(opts['norm'], **kwargs) if 'norm' in opts
               else ConfidenceTokenSampler(**kwargs))
    if 'notrans' in opts:
        sampler.transformer = torch.nn.Identity()
    for layer in getattr(sampler.transformer, 'layers', []):
        layer.norm_first = 'prenorm' in opts
        if 'zeroinit' in opts:
            for linear in (layer.self_attn.out_proj, layer.linear2):
                torch.nn.init.zeros_(linear.weight)
                torch.nn.init.zeros_(linear.bias)
    return sampler


def optimiser(sampler, opts):
    lr = float(opts.get('lr', 0.05))
    if 'adam' in opts:
        return torch.optim.Adam(sampler.parameters(), lr=lr)
    first = list(sampler.first.parameters())
    rest = [p for p in sampler.parameters() if all(p is not q for q in first)]
    return torch.optim.SGD([dict(params=rest), dict(params=first, lr=lr * float(
        opts.get('first_mult', 1.0)))], lr=lr, momentum=0.9, weight_decay=4e-5)


def diagnose(variant, labelled, unlabelled, test):
    opts = dict(part.split('=', 1) if '=' in part else (part, True)
                for part in variant.split(','))
    sampler = build_sampler(opts, labelled.shape)
    optim = optimiser(sampler, opts)
    generator, losses = torch.Generator().manual_seed(1), []
    steps = int(opts.get('steps', 320))
    for _ in range(steps):
        x = torch.cat([labelled[torch.randint(len(labelled), (8,), generator=generator)],
                       unlabelled[torch.randint(len(unlabelled), (8,), generator=generator)]])
        target = torch.cat([torch.ones(8), torch.zeros(8)])
        order = torch.randperm(16, generator=generator)
        loss = F.binary_cross_entropy_with_logits(sampler(x[order])[0], target[order])
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    sampler.eval()
    with torch.no_grad():
        def scores(x):
            return torch.cat([sampler(x[i:i + 16])[0] for i in range(0, len(x) - 15, 16)])
        pool = torch.cat([labelled, unlabelled])
        order = torch.randperm(len(pool), generator=generator)[:len(pool) // 16 * 16]
        pool_scores, is_labelled = scores(pool[order]), order < len(labelled)
        auc = roc_auc(pool_scores[is_labelled].tolist(), pool_scores[~is_labelled].tolist())
        auc_test = roc_auc(scores(unlabelled[:len(unlabelled) // 16 * 16]).tolist(),
                           scores(test[:len(test) // 16 * 16]).tolist())
    blocks = [sum(losses[i:i + 40]) / len(losses[i:i + 40]) for i in range(0, steps, 40)]
    print(f'{variant:40s} BCE per 40 steps: ' + ' '.join(f'{v:.3f}' for v in blocks) +
          f'  auc {auc:.3f} auc_test {auc_test:.3f}  score spread '
          f'{float(pool_scores.max() - pool_scores.min()):.2g}', flush=True)


def top_foreground(confidences, k=20):
    """Per image: the mean of its k highest foreground probabilities (background last)."""
    return confidences.softmax(-1)[..., :-1].max(-1).values.topk(k, -1).values.mean(-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--run', required=True, help='an al_train.py work dir (TAAL, scenes)')
    parser.add_argument('--data', default=os.path.join(ROOT, 'data', 'compare_scenes_0_128'))
    parser.add_argument('--epoch', type=int, default=20, help='its cycle-0 checkpoint')
    parser.add_argument('variants', nargs='+')
    args = parser.parse_args()
    register_all_modules()
    torch.set_num_threads(1)
    data = cached_confidences(args.run, os.path.abspath(args.data) + '/', args.epoch)
    ids, confidences = data['trainval']
    with open(os.path.join(args.run, 'pool', 'cycle_0_trainval.txt')) as f:
        chosen = set(f.read().split())
    mask = torch.tensor([i in chosen for i in ids])
    labelled, unlabelled = confidences[mask], confidences[~mask]
    top, top_test = (top_foreground(x) for x in (confidences, data['test'][1]))
    print(f'{len(labelled)} labelled, {len(unlabelled)} unlabelled; AUC of the mean of the 20 '
          f'highest foreground probabilities: labelled vs unlabelled '
          f'{roc_auc(top[mask].tolist(), top[~mask].tolist()):.3f}, unlabelled vs test '
          f'{roc_auc(top[~mask].tolist(), top_test.tolist()):.3f}')
    for variant in args.variants:
        diagnose(variant, labelled, unlabelled, data['test'][1])


if __name__ == '__main__':
    main()
