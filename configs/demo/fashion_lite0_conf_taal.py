# The paper's detection variant (transformer over the head's priors) on the Fashion-MNIST
# scenes: 1,524 priors of the SSD-Lite head at 128 px, 11 confidences each, batches of
# 8 + 8 images (11 x 16 = 176 entries per token).
_base_ = './fashion_lite0_taal.py'

model = dict(
    sampler=dict(_delete_=True, type='ConfidenceTokenSampler', num_priors=1524, num_classes=11,
                 batch_size=16, embed_dims=128, depth=1, num_heads=4, confidences='softmax',
                 detach_head=True))
