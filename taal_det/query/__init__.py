from .files import write_query

__all__ = ['write_query']
