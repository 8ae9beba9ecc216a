# The TAAL paper's own detection variant on Pascal VOC 2007 (docs/method.md): the
# transformer over SSD300's priors, each a token of its 21 class confidences for each of
# the 32 images of a batch (21 x 32 = 672 entries); the discriminator reads the
# transformed confidences, 8,732 x 21 per image. Everything else as configs/voc_ssd_taal.py.
# Parameters of the sampler: 50.6 M (its first layer alone 8,732 x 21 x 256 = 46.9 M).
_base_ = './voc_ssd_taal.py'

model = dict(
    sampler=dict(_delete_=True, type='ConfidenceTokenSampler', num_priors=8732, num_classes=21,
                 batch_size=32, embed_dims=256, depth=1, num_heads=4, confidences='softmax',
                 detach_head=True))
