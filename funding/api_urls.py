from . import api, api_dossiers, api_eligibility

urlpatterns = api.urlpatterns + api_eligibility.urlpatterns + api_dossiers.urlpatterns
