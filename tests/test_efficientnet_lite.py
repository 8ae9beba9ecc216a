import numpy as np
import pytest
import torch
from PIL import Image

from taal_det.models import EfficientNetLite0, lite0_weights_path
from taal_det.models.efficientnet_lite import load_lite0_imagenet

IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def chelsea():
    import importlib.util
    import os
    folder = list(importlib.util.find_spec('skimage').submodule_search_locations)[0]
    return Image.open(os.path.join(folder, 'data', 'chelsea.png')).convert('RGB')


def test_every_checkpoint_key_loads_strictly_and_a_real_cat_is_a_cat():
    model = EfficientNetLite0(with_classifier=True).eval()
    model.load_state_dict(load_lite0_imagenet('efficientnet-lite0://imagenet'), strict=True)
    img = np.asarray(chelsea().resize((224, 224), Image.BICUBIC), dtype=np.float32)
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    x = torch.from_numpy(((img - mean) / std).astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        top5 = model.classify(x).topk(5).indices[0].tolist()
    assert top5[0] in IMAGENET_CATS, top5


def test_init_cfg_loads_the_packaged_weights_offline():
    model = EfficientNetLite0(init_cfg=dict(type='Pretrained',
                                            checkpoint='efficientnet-lite0://imagenet'))
    model.init_weights()
    weights = torch.load(lite0_weights_path(), weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_feature_maps_at_strides_8_16_32():
    model = EfficientNetLite0().eval()
    feats = model(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, 40, 8, 12), (1, 112, 4, 6), (1, 320, 2, 3)]
    assert model.out_channels == [40, 112, 320]
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite0(out_indices=(4, 16))


def test_frozen_stages_are_frozen_from_construction():
    model = EfficientNetLite0(frozen_stages=1)
    assert not any(p.requires_grad for p in model._conv_stem.parameters())
    assert not any(p.requires_grad for p in model._blocks[1].parameters())
    assert all(p.requires_grad for p in model._blocks[2].parameters())
    assert not model.train()._blocks[0]._bn1.training
