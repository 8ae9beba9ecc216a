"""A person as ActivePoolHook's oracle (``oracle='files'``): after a cycle's training,
validation and selection the run writes the query and stops; the same command with
``--resume`` reads the labels the person exported, checks them against the query and
continues. The simulation (labels revealed) stays the default.

``work_dir/query/cycle_{k}/`` is the query of the images training cycle ``k`` adds:
``ids.txt``, ``query.csv``, ``label_studio_tasks.json``, ``contact_sheet.png`` and,
written last, ``query_state.json``: the picks, their pool scores, the selection time, the
per-cycle row of the cycle that ended (so a resumed run does not validate it again) and
the fingerprints of the labelled images' annotations when the query was made.
"""
import json
import os

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from taal_det.labels import ANNOTATED, LABEL_DIGEST, UNKNOWN_CLASSES, LabelError, review_labels
from taal_det.pool import atomic_write_json, load_initial_ids
from taal_det.query import write_query
from .drop_in import pool_parts
from .errors import refuse

ORACLES = ('simulation', 'files')
STATE = 'query_state.json'


def build_oracle(oracle, allow_corrections=False):
    """None for the simulation, a :class:`FileOracle` for ``'files'``."""
    return FileOracle(allow_corrections) if oracle == 'files' else None


class FileOracle:
    """Labels a person makes in an annotation tool between two runs.

    Args:
        allow_corrections: accept changed annotations of labelled images (logged);
            refused by default.
    """

    def __init__(self, allow_corrections=False):
        self.allow_corrections = allow_corrections
        self.answer = None  # (cycle, ids, scores, selection seconds) of checked labels
        self.message = None  # what to do next, once a query is written

    def start(self, runner, dataset, epochs_per_cycle):
        """Read every pool image's annotation status; refuse a pool that has none and a
        run without a checkpoint at every cycle end (what ``--resume`` continues from)."""
        self.dataset = dataset
        self.folder = os.path.join(runner.work_dir, 'query')
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        if not all(ANNOTATED in info for info in infos):
            refuse(f"oracle='files' needs a pool that tells unannotated images apart: use "
                   f"PartlyAnnotatedVOCDataset or PartlyAnnotatedCocoDataset instead of "
                   f'{type(pool_parts(dataset)[0]).__name__}')
        self.labels = {str(i['img_id']): (i[LABEL_DIGEST], i[UNKNOWN_CLASSES])
                       for i in infos if i[ANNOTATED]}
        self.paths = {str(i['img_id']): i['img_path'] for i in infos}
        ckpt = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        begin = getattr(ckpt, 'save_begin', 0)
        if ckpt is None or not ckpt.by_epoch or ckpt.interval <= 0 or \
                epochs_per_cycle % ckpt.interval or begin % ckpt.interval or \
                begin > epochs_per_cycle:
            refuse("oracle='files' resumes from the checkpoint of a cycle's end: set "
                   "default_hooks.checkpoint=dict(type='CheckpointHook', interval=N) with N "
                   f'dividing epochs_per_cycle={epochs_per_cycle} (and save_begin 0)')
        loop = runner.train_loop
        if runner.val_loop is None or getattr(loop, 'val_begin', 1) > epochs_per_cycle:
            refuse("oracle='files' writes each query after the cycle's validation: give the "
                   'run a val_dataloader, val_evaluator and val_cfg (and val_begin <= '
                   f'epochs_per_cycle={epochs_per_cycle})')

    def initial_ids(self, initial_split, pool_ids):
        """The annotated images, in the order of ``initial_split`` when it is given (it
        must list exactly them). A new run refuses a work dir with queries."""
        if os.path.isdir(self.folder) and os.listdir(self.folder):
            refuse(f'{self.folder} holds the queries of an earlier run: continue it with '
                   '--resume (or start in another work_dir)')
        annotated = sorted(self.labels)
        if not initial_split:
            return annotated
        ids = load_initial_ids(initial_split, pool_ids)
        if set(ids) != set(annotated):
            lacking = sorted(set(ids) - set(annotated))
            extra = sorted(set(annotated) - set(ids))
            refuse(f'initial_split {initial_split} must list exactly the '
                   f'{len(annotated)} annotated pool images: listed without annotation: '
                   f"{', '.join(lacking[:20]) or '-'}; annotated, not listed: "
                   f"{', '.join(extra[:20]) or '-'}")
        return ids

    def _query_dir(self, cycle):
        return os.path.join(self.folder, f'cycle_{cycle}')

    def digests(self, ids):
        """{id: annotation fingerprint} of these (labelled) images, for the checkpoint."""
        return {i: self.labels[i][0] for i in ids if i in self.labels}

    def _review(self, queried, labelled, found, unknown, what):
        """review_labels with the hook's message; logs accepted corrections."""
        try:
            changed = review_labels(queried, labelled, found, unknown, self.allow_corrections)
        except LabelError as e:
            raise ValueError(f'ActivePoolHook: the labels {what} are not complete: {e}. Fix '
                             'them and run the same command with --resume again (the query, '
                             'the split and the checkpoint are unchanged)') from None
        if changed:
            print_log(f'active learning: corrections of {len(changed)} labelled image(s) '
                      f"accepted: {', '.join(changed)}", logger='current')

    def resume(self, pool, rows, labelled, at_cycle_end):
        """Check a resumed run's labels before anything changes: those of its labelled
        images against ``labelled`` (their fingerprints in the checkpoint) and, at the end
        of a cycle whose query is written, the labels that answer it, kept for the next
        cycle's selection. Return ``rows`` with the ended cycle's row."""
        cycle = pool.cycle + 1
        path = os.path.join(self._query_dir(cycle), STATE)
        if not at_cycle_end or not os.path.isfile(path):
            if labelled is not None:  # the labelled set only
                self._review([], labelled, self.digests(labelled),
                             {i: self.labels[i][1] for i in labelled if i in self.labels},
                             'of the labelled images')
            return rows
        with open(path) as f:
            state = json.load(f)
        if sorted(state['labelled']) != sorted(pool.labelled):
            refuse(f'{self._query_dir(cycle)} was written for another labelled set than '
                   "the checkpoint's; remove the folder to query again")
        self._review(state['ids'], state['labelled'],
                     {i: digest for i, (digest, _) in self.labels.items()},
                     {i: names for i, (_, names) in self.labels.items()},
                     f'for {self._query_dir(cycle)}')
        self.answer = (cycle, state['ids'], state['scores'], state['selection_seconds'])
        return rows + [r for r in [state['row']] if r['cycle'] not in {x['cycle'] for x in rows}]

    def answered(self, cycle):
        return self.answer is not None and self.answer[0] == cycle

    def take(self):
        """The checked labels' (ids, pool scores, selection seconds), once."""
        if self.answer is None:
            refuse('a cycle starts without checked labels: its query was never written '
                   '(the cycle before it ended without validation metrics)')
        _, ids, scores, seconds = self.answer
        self.answer = None
        return ids, scores, seconds

    def write(self, pool, cycle, ids, scores, shown_scores, seconds, row):
        """Write the query of ``ids`` (rank order) for training cycle ``cycle``: ``scores``
        go to the split's history, ``shown_scores`` to the CSV, ``row`` is the per-cycle
        row of the cycle that ended. Return what to do next."""
        folder = self._query_dir(cycle)
        unannotated = sorted(set(pool.labelled) - set(self.labels))
        if unannotated:  # every rank refuses, before any waits at the barrier
            refuse('labelled images have lost their annotations: ' + ', '.join(unannotated[:20]))
        state = dict(cycle=cycle, ids=list(ids), selection_seconds=seconds, row=row,
                     scores=scores and {i: scores[i] for i in ids},
                     labelled={i: self.labels[i][0] for i in pool.labelled})
        if is_main_process():
            write_query(folder, ids, self.paths, shown_scores)
            atomic_write_json(os.path.join(folder, STATE), state)
        barrier()
        hints = sorted({part.label_hint(cycle) for part in pool_parts(self.dataset)})
        self.message = (
            f'active learning: cycle {cycle} waits for labels: {len(ids)} images queried in '
            f'{folder}/ (ids.txt, query.csv with paths and scores, label_studio_tasks.json, '
            'contact_sheet.png). Next:\n'
            '  1. label these images in your annotation tool (upload the images query.csv '
            'lists; Label Studio serving local files can import label_studio_tasks.json); an '
            'image without objects needs an empty annotation\n'
            f"  2. {' or '.join(hints)}\n"
            '  3. run the same command again with --resume')
        return self.message
