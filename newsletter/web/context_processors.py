from newsletter.content import brand


def organisation(request):
    return brand.context()
