from .files import query_scores, write_query

__all__ = ['query_scores', 'write_query']
