from .active_pool_hook import ActivePoolHook

__all__ = ['ActivePoolHook']
