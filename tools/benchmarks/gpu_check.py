"""The GPU end to end: mmcv's CUDA ops, a 2-cycle active-learning run, the sampler's cost.

    python tools/benchmarks/gpu_check.py [--work-dir work_dirs/gpu_check]

(``bash tools/gpu_check.sh WHEELHOUSE`` installs what this needs on a machine without
network and then runs it.) Each check prints one line; the first failure stops the run.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check_ops():
    """mmcv's nms and RoIAlign on CUDA tensors agree with their CPU results."""
    from mmcv.ops import RoIAlign, nms
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=g) * 50 + 1], 1)
    scores = torch.rand(200, generator=g)
    _, keep_cpu = nms(boxes, scores, 0.5)
    _, keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)
    assert torch.equal(keep_cpu, keep_gpu.cpu()), 'nms: CUDA and CPU keep different boxes'
    feats = torch.rand(2, 8, 32, 32, generator=g)
    rois = torch.tensor([[0, 1., 1., 20., 20.], [1, 4., 6., 30., 25.]])
    align = RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=2)
    cpu, gpu = align(feats, rois), align(feats.cuda(), rois.cuda()).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-5), 'RoIAlign: CUDA and CPU differ'
    print(f'ops: nms keeps the same {len(keep_cpu)} of 200 boxes on CUDA and CPU; RoIAlign '
          f'CUDA = CPU (max diff {float((cpu - gpu).abs().max()):.1e})', flush=True)


def check_run(work_dir):
    """Two cycles of TAAL on the trees data: trained, validated and selected on the GPU."""
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    import al_train
    from make_trees import build as build_trees
    build_trees(os.path.join(ROOT, 'data', 'trees'))
    torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    al_train.main(['configs/demo/trees_lite0_taal.py', '--work-dir', work_dir, '--cycles', '2',
                   '--epochs-per-cycle', '4', '--cfg-options', 'param_scheduler.1.end=4',
                   'param_scheduler.1.milestones=[3]'])
    with open(os.path.join(work_dir, 'al_results.json')) as f:
        cycles = json.load(f)['cycles']
    peak = torch.cuda.max_memory_allocated() / 2 ** 20
    assert len(cycles) == 2 and cycles[1]['labelled_images'] > cycles[0]['labelled_images'], \
        'the run did not grow its labelled set over 2 cycles'
    assert peak > 0, 'the run allocated nothing on the GPU'
    print(f'run: 2 cycles in {time.time() - t0:.0f} s on {torch.cuda.get_device_name()}, peak '
          f'{peak:.0f} MiB; labelled {cycles[0]["labelled_images"]} -> '
          f'{cycles[1]["labelled_images"]}, mAP ' +
          ', '.join(f'{c["mAP"]:.3f}' for c in cycles) +
          f', sampler AUC {cycles[1].get("sampler_auc")}', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=os.path.join(ROOT, 'work_dirs', 'gpu_check'))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit('gpu_check: torch sees no CUDA device')
    os.chdir(ROOT)
    sys.path.insert(0, os.path.join(ROOT, 'tools', 'data'))
    check_ops()
    check_run(args.work_dir)
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'benchmarks', 'sampler_cost.py'),
                    '--device', 'cuda', '--repeat', '5'], check=True)


if __name__ == '__main__':
    main()
