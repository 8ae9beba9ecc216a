"""Sampler health per cycle: the training BCE of the cycle's last epoch against chance,
and the ROC AUC of the scores, computed in the context selection scores in."""
import json
import os

import torch
from mmengine.dist import all_reduce, is_main_process

from taal_det.evaluation import binary_entropy, plot_score_histograms, roc_auc
from taal_det.models.taal_detector import SAMPLER_BCE
from taal_det.pool import atomic_write_json


class SamplerHealth:
    """Collects ``sampler_bce`` over an epoch and measures AUCs at the end of a cycle.

    ``state_dict`` keeps the last epoch's BCE, so a run resumed from a cycle's last
    checkpoint still reports it.
    """

    def __init__(self, folder):
        self.folder = folder
        self.sum, self.count = 0.0, 0
        self.last_epoch_bce = None

    def start_epoch(self):
        self.sum, self.count = 0.0, 0

    def add_iter(self, outputs):
        if outputs and SAMPLER_BCE in outputs:
            self.sum += float(outputs[SAMPLER_BCE])
            self.count += 1

    def end_epoch(self):
        totals = torch.tensor([self.sum, float(self.count)], dtype=torch.float64)
        all_reduce(totals)
        self.last_epoch_bce = float(totals[0] / totals[1]) if totals[1] else None

    def state_dict(self):
        return dict(last_epoch_bce=self.last_epoch_bce)

    def load_state_dict(self, state):
        self.last_epoch_bce = state.get('last_epoch_bce')

    def measure(self, cycle, labelled, unlabelled, test, labelled_fraction):
        """The row's health fields from the sampler scores of the labelled pool images,
        the unlabelled candidates (as selection scored them) and the test images."""
        if is_main_process():
            self._save_scores(cycle, dict(unlabelled=unlabelled, labelled=labelled, test=test))
        return dict(sampler_bce=self.last_epoch_bce,
                    sampler_bce_chance=round(binary_entropy(labelled_fraction), 6),
                    sampler_auc=roc_auc(labelled, unlabelled),
                    sampler_auc_test=roc_auc(unlabelled, test))

    def _save_scores(self, cycle, scores):
        atomic_write_json(os.path.join(self.folder, f'sampler_scores_cycle_{cycle}.json'),
                          scores)
        by_cycle = {}
        for k in range(cycle + 1):
            path = os.path.join(self.folder, f'sampler_scores_cycle_{k}.json')
            if os.path.exists(path):
                with open(path) as f:
                    by_cycle[k] = json.load(f)['unlabelled']
        plot_score_histograms(os.path.join(os.path.dirname(self.folder), 'sampler_scores.png'),
                              by_cycle)
