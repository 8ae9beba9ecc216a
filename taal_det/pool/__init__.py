from .io import atomic_write_json, atomic_write_text
from .state import PoolError, PoolState, load_initial_ids, pool_digest

__all__ = ['PoolState', 'PoolError', 'load_initial_ids', 'pool_digest', 'atomic_write_json',
           'atomic_write_text']
