"""Score unlabelled images with a trained model and write the query of the K images a
strategy picks: ids.txt, query.csv, Label Studio tasks and a contact sheet.

    python tools/al_query.py CONFIG CHECKPOINT --images DIR_OR_LIST --budget K \
        --strategy taal --out query/

CONFIG is the config the model was trained with (a TAALDetector for taal, any detector
for uncertainty and core-set, a LossPredictionDetector for ll4al); a TAALDetector
checkpoint also serves a bare-detector config. Images are scored in eval mode with the
config's val pipeline (or the hook's score_pipeline), in chunks of the train batch size
(or score_batch_size), with the hook's strategy options when its strategy is the one
asked for: as the hook scores.
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from mmengine.utils import import_modules_from_strings

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


def list_images(source):
    """{image id (file stem): path} of a folder's images or of a list file's paths."""
    if os.path.isdir(source):
        paths = sorted(os.path.join(source, n) for n in os.listdir(source)
                       if n.lower().endswith(IMAGE_SUFFIXES))
    else:
        with open(source) as f:
            paths = [line.strip() for line in f if line.strip()]
    images = {}
    for path in paths:
        image_id = os.path.splitext(os.path.basename(path))[0]
        if image_id in images:
            raise SystemExit(f'error: two images have the id {image_id!r}: '
                             f'{images[image_id]} and {path}')
        if not os.path.isfile(path):
            raise SystemExit(f'error: image not found: {path}')
        images[image_id] = path
    if not images:
        raise SystemExit(f'error: no images in {source}')
    return images


class ImageFolder:
    """The minimal dataset the scorer reads: one image per id, no annotations."""

    def __init__(self, images):
        self.ids = sorted(images)
        self.paths = images

    def get_data_info(self, index):
        image_id = self.ids[index]
        return dict(img_path=self.paths[image_id], img_id=image_id, instances=[])


def load_model(cfg, checkpoint):
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    if not hasattr(model, 'detector') and any(k.startswith('detector.') for k in state):
        state = {k[len('detector.'):]: v for k, v in state.items() if k.startswith('detector.')}
    load_state_dict(model, state, strict=False)
    return model.eval()


def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from al_train import STRATEGY_ALIASES, positive_int
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', required=True, help='a folder, or a file of image paths')
    parser.add_argument('--budget', type=positive_int, required=True)
    parser.add_argument('--strategy', default='taal', help=', '.join(STRATEGY_ALIASES))
    parser.add_argument('--labelled', help='the labelled images (folder or list): core-set')
    parser.add_argument('--out', default='query', help='the query folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    import_modules_from_strings(['taal_det'] + list(cfg.get('custom_imports', {})
                                                    .get('imports', [])))
    from taal_det.hooks.options import check_model_serves
    from taal_det.hooks.scoring import PoolScorer
    from taal_det.query import query_scores, write_query
    from taal_det.strategies import STRATEGIES

    kind = STRATEGY_ALIASES.get(args.strategy, args.strategy)
    hook = next((h for h in cfg.get('custom_hooks', []) if h.get('type') == 'ActivePoolHook'),
                {})
    configured = dict(hook.get('strategy', {}))
    strategy = STRATEGIES.build(configured if configured.get('type') == kind else dict(type=kind))
    model = load_model(cfg, args.checkpoint)
    check_model_serves(strategy, model)
    images = list_images(args.images)
    labelled = list_images(args.labelled) if args.labelled else {}
    if set(images) & set(labelled):
        raise SystemExit('error: images both unlabelled and labelled: '
                         + ', '.join(sorted(set(images) & set(labelled))[:5]))
    folder = ImageFolder({**images, **labelled})
    scorer = PoolScorer(model, folder, {i: k for k, i in enumerate(folder.ids)},
                        hook.get('score_pipeline') or cfg.val_dataloader.dataset.pipeline,
                        hook.get('score_batch_size') or cfg.train_dataloader.batch_size,
                        pre_nms_topk=getattr(strategy, 'pre_nms_topk', None))
    needs = set(strategy.requires)
    outputs = scorer.score(sorted(images), needs)
    labelled_outputs = scorer.score(sorted(labelled), needs) \
        if labelled and getattr(strategy, 'needs_labelled', False) else None
    chosen = strategy(outputs, args.budget, labelled=labelled_outputs, seed=args.seed)
    write_query(args.out, chosen, images, query_scores(strategy, outputs))
    print(f'{len(chosen)} of {len(images)} images to label, by {type(strategy).__name__}: '
          f'{os.path.join(args.out, "query.csv")} (contact sheet: '
          f'{os.path.join(args.out, "contact_sheet.png")})')


if __name__ == '__main__':
    main()
