"""Letters of a dossier (namespace "funding"): /dossiers/<reference>/courriers/<letter reference>.pdf"""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "dossiers/<str:reference>/courriers/<str:letter_reference>.pdf",
        views.letter_download,
        name="letter_download",
    ),
]
