"""`GET /api/v1/programmes/`: the programmes and campaigns, each with its calendar windows open or not today."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ProgrammeDeadline
from .programmes import selectable_programmes
from .windows import Window, window_state


class WindowSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    opens = serializers.DateField(allow_null=True, help_text="Premier jour d'ouverture ; vide : ouverte depuis toujours.")
    closes = serializers.DateField(help_text="Dernier jour d'ouverture (« avant le 1er janvier 2023 » → 2022-12-31).")
    is_open = serializers.BooleanField(help_text="Ouverte aujourd'hui (heure de Paris).")
    source = serializers.CharField(help_text="Le texte et la section d'où vient la fenêtre.")


class ProgrammeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_fictitious = serializers.BooleanField()
    windows = WindowSerializer(many=True)


class ProgrammeListApi(APIView):
    """Any authenticated user: the programmes offered, with the state of each window today."""

    @extend_schema(tags=["programmes"], responses=ProgrammeSerializer(many=True), summary="Programmes et fenêtres")
    def get(self, request):
        today = timezone.localdate()
        programmes = selectable_programmes().prefetch_related(
            Prefetch("deadlines", queryset=ProgrammeDeadline.objects.order_by("date", "code"))
        )
        data = []
        for programme in programmes:
            windows = []
            for row in programme.deadlines.all():
                window = Window(row.code, row.label, row.opens, row.date, row.closing, row.source)
                windows.append({
                    "code": window.code, "label": window.label, "opens": window.opens, "closes": window.last_day,
                    "is_open": window_state(window, today).is_open, "source": window.source,
                })
            data.append({"code": programme.code, "name": programme.name, "is_fictitious": programme.is_fictitious,
                         "windows": windows})
        return Response(ProgrammeSerializer(data, many=True).data)
