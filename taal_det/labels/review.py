"""The check of a query's labels before a run continues (no mmengine): every queried
image annotated, no annotation for an image nobody asked for, labelled images unchanged."""
from .exports import LabelError

SHOWN = 20  # ids listed per problem; the rest are counted


def _listed(ids):
    ids = sorted(ids)
    more = f' and {len(ids) - SHOWN} more' if len(ids) > SHOWN else ''
    return ', '.join(ids[:SHOWN]) + more


def _images(n):
    return f'{n} image' if n == 1 else f'{n} images'


def review_labels(queried, labelled, found, unknown=None, allow_corrections=False):
    """Check the labels that answer a query; return the labelled ids whose annotations
    changed (accepted corrections), or raise :class:`LabelError` with one message that
    lists every problem.

    Args:
        queried: the image ids of the query.
        labelled: {id: digest} of the labelled images when the query was written.
        found: {id: digest} of every pool image that has an annotation now.
        unknown: {id: class names outside the dataset's classes} (such boxes would be
            dropped silently).
        allow_corrections: accept changed annotations of labelled images.
    """
    unknown = unknown or {}
    problems = []
    missing = [i for i in queried if i not in found]
    if missing:
        problems.append(
            f'no annotation for {len(missing)} of {_images(len(queried))} queried: '
            f'{_listed(missing)} (an image without objects needs an empty annotation: a '
            'VOC XML without <object>, or the image listed in a COCO export without boxes)')
    others = set(found) - set(queried) - set(labelled)
    if others:
        problems.append(f'annotations for {_images(len(others))} not queried: '
                        f'{_listed(others)} (remove them: an image joins the labelled set '
                        'when a query asks for it)')
    lost = [i for i in labelled if i not in found]
    if lost:
        problems.append(f'annotations removed for {_images(len(lost))} of the labelled set: '
                        f'{_listed(lost)}')
    changed = [i for i in labelled if i in found and found[i] != labelled[i]]
    if changed and not allow_corrections:
        problems.append(f'annotations of {_images(len(changed))} of the labelled set '
                        f'changed: {_listed(changed)} (restore them, or set the hook\'s '
                        'allow_corrections=True to accept corrections)')
    wrong = {i: names for i, names in unknown.items()
             if names and (i in set(queried) or i in set(changed))}
    if wrong:
        named = [f"{i} ({', '.join(sorted(wrong[i]))})" for i in sorted(wrong)]
        problems.append(f"class names outside the dataset's classes in "
                        f'{_images(len(wrong))}: {_listed(named)}')
    if problems:
        raise LabelError('; '.join(problems))
    return sorted(changed)
