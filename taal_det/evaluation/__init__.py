from .classwise_voc import ClasswiseVOCMetric
from .results import aubc, markdown_table, plot_curve, save_figure, write_results
from .sampler_health import binary_entropy, plot_score_histograms, roc_auc

__all__ = ['ClasswiseVOCMetric', 'aubc', 'markdown_table', 'plot_curve', 'save_figure', 'write_results',
           'binary_entropy', 'plot_score_histograms', 'roc_auc']
