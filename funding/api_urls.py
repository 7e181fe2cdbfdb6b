from . import api
from .dossiers import api as dossiers_api
from .eligibility import api as eligibility_api
from .eligibility import vendors_import

urlpatterns = (
    api.urlpatterns + eligibility_api.urlpatterns + dossiers_api.urlpatterns + vendors_import.api_urlpatterns
)
