from . import api

urlpatterns = api.urlpatterns
