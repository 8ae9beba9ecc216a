from .results import aubc, markdown_table, plot_curve, write_results

__all__ = ['aubc', 'markdown_table', 'plot_curve', 'write_results']
