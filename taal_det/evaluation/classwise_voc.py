"""VOCMetric that also reports each class's AP, so that reports can show per cycle what
the picked images did for every class (mmdet's VOCMetric returns only the means)."""
from mmdet.evaluation import VOCMetric, eval_map
from mmdet.registry import METRICS


@METRICS.register_module()
class ClasswiseVOCMetric(VOCMetric):
    """:class:`mmdet.evaluation.VOCMetric` plus ``AP{iou}_{class}`` for every class with
    ground truth, at every IoU threshold (``metric='mAP'`` without ``scale_ranges``)."""

    def compute_metrics(self, results):
        metrics = super().compute_metrics(results)
        if self.metric != 'mAP' or self.scale_ranges is not None:
            return metrics
        gts, preds = zip(*results)
        classes = self.dataset_meta['classes']
        for iou_thr in self.iou_thrs:
            _, per_class = eval_map(preds, gts, scale_ranges=self.scale_ranges,
                                    iou_thr=iou_thr, dataset=classes, logger='silent',
                                    eval_mode=self.eval_mode, use_legacy_coordinate=True)
            for name, result in zip(classes, per_class):
                if result['num_gts'] == 0:
                    continue
                metrics[f'AP{int(iou_thr * 100):02d}_{name}'] = round(float(result['ap']), 4)
        return metrics
