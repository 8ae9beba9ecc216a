"""Make SSD predict and validate on mmdet <= 3.3.0.

mmdet 3.3.0's ``BaseDenseHead._predict_by_feat_single`` reads
``self.loss_cls.custom_cls_channels``, but ``SSDHead`` (whose classification loss
is built in) never sets ``loss_cls``: inference fails with ``'SSDHead' object has no
attribute 'loss_cls'``. Giving the class ``loss_cls = None`` makes that read fall
back to the softmax path SSD uses. Applied once when taal_det is imported, only on
the mmdet releases that have the bug (a later, fixed mmdet is left alone).
"""
import mmdet
from mmengine.utils import digit_version
from mmdet.models.dense_heads import SSDHead

LAST_AFFECTED = '3.3.0'


def ensure_ssd_head_predicts():
    """Return True when the workaround was needed and applied."""
    if hasattr(SSDHead, 'loss_cls') or \
            digit_version(mmdet.__version__) > digit_version(LAST_AFFECTED):
        return False
    SSDHead.loss_cls = None
    return True
