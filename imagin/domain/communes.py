"""Night-allowance zone of a commune: Paris, large cities and Grand Paris, or elsewhere."""

from __future__ import annotations

import re
import unicodedata

# Communes of 200,000 inhabitants or more besides Paris (INSEE legal populations,
# 2021 census). Toulon, Reims, Saint-Étienne and Le Havre are under 200,000.
LARGE_CITIES: tuple[str, ...] = (
    "Marseille",
    "Lyon",
    "Toulouse",
    "Nice",
    "Nantes",
    "Montpellier",
    "Strasbourg",
    "Bordeaux",
    "Lille",
    "Rennes",
)

# The 130 communes of the Métropole du Grand Paris other than Paris.
GRAND_PARIS: tuple[str, ...] = (
    # Hauts-de-Seine (92): all 36 communes.
    "Antony",
    "Asnières-sur-Seine",
    "Bagneux",
    "Bois-Colombes",
    "Boulogne-Billancourt",
    "Bourg-la-Reine",
    "Châtenay-Malabry",
    "Châtillon",
    "Chaville",
    "Clamart",
    "Clichy",
    "Colombes",
    "Courbevoie",
    "Fontenay-aux-Roses",
    "Garches",
    "La Garenne-Colombes",
    "Gennevilliers",
    "Issy-les-Moulineaux",
    "Levallois-Perret",
    "Malakoff",
    "Marnes-la-Coquette",
    "Meudon",
    "Montrouge",
    "Nanterre",
    "Neuilly-sur-Seine",
    "Le Plessis-Robinson",
    "Puteaux",
    "Rueil-Malmaison",
    "Saint-Cloud",
    "Sceaux",
    "Sèvres",
    "Suresnes",
    "Vanves",
    "Vaucresson",
    "Ville-d'Avray",
    "Villeneuve-la-Garenne",
    # Seine-Saint-Denis (93): all 40 communes.
    "Aubervilliers",
    "Aulnay-sous-Bois",
    "Bagnolet",
    "Le Blanc-Mesnil",
    "Bobigny",
    "Bondy",
    "Le Bourget",
    "Clichy-sous-Bois",
    "Coubron",
    "La Courneuve",
    "Drancy",
    "Dugny",
    "Épinay-sur-Seine",
    "Gagny",
    "Gournay-sur-Marne",
    "L'Île-Saint-Denis",
    "Les Lilas",
    "Livry-Gargan",
    "Montfermeil",
    "Montreuil",
    "Neuilly-Plaisance",
    "Neuilly-sur-Marne",
    "Noisy-le-Grand",
    "Noisy-le-Sec",
    "Pantin",
    "Les Pavillons-sous-Bois",
    "Pierrefitte-sur-Seine",
    "Le Pré-Saint-Gervais",
    "Le Raincy",
    "Romainville",
    "Rosny-sous-Bois",
    "Saint-Denis",
    "Saint-Ouen-sur-Seine",
    "Sevran",
    "Stains",
    "Tremblay-en-France",
    "Vaujours",
    "Villemomble",
    "Villepinte",
    "Villetaneuse",
    # Val-de-Marne (94): all 47 communes.
    "Ablon-sur-Seine",
    "Alfortville",
    "Arcueil",
    "Boissy-Saint-Léger",
    "Bonneuil-sur-Marne",
    "Bry-sur-Marne",
    "Cachan",
    "Champigny-sur-Marne",
    "Charenton-le-Pont",
    "Chennevières-sur-Marne",
    "Chevilly-Larue",
    "Choisy-le-Roi",
    "Créteil",
    "Fontenay-sous-Bois",
    "Fresnes",
    "Gentilly",
    "L'Haÿ-les-Roses",
    "Ivry-sur-Seine",
    "Joinville-le-Pont",
    "Le Kremlin-Bicêtre",
    "Limeil-Brévannes",
    "Maisons-Alfort",
    "Mandres-les-Roses",
    "Marolles-en-Brie",
    "Nogent-sur-Marne",
    "Noiseau",
    "Orly",
    "Ormesson-sur-Marne",
    "Périgny",
    "Le Perreux-sur-Marne",
    "Le Plessis-Trévise",
    "La Queue-en-Brie",
    "Rungis",
    "Saint-Mandé",
    "Saint-Maur-des-Fossés",
    "Saint-Maurice",
    "Santeny",
    "Sucy-en-Brie",
    "Thiais",
    "Valenton",
    "Villecresnes",
    "Villejuif",
    "Villeneuve-le-Roi",
    "Villeneuve-Saint-Georges",
    "Villiers-sur-Marne",
    "Vincennes",
    "Vitry-sur-Seine",
    # Val-d'Oise (95).
    "Argenteuil",
    # Essonne (91).
    "Athis-Mons",
    "Juvisy-sur-Orge",
    "Morangis",
    "Paray-Vieille-Poste",
    "Savigny-sur-Orge",
    "Viry-Châtillon",
)

_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}
# "75015 Paris", "Alençon Cedex 2", "Lyon 3e", "Paris 15e arrondissement".
_POSTCODE = re.compile(r"^\d{5} | \d{5}$")
_CEDEX = re.compile(r" cedex( \d+)?$")
_ARRONDISSEMENT = re.compile(r" \d{1,2}( ?(e|er|eme|ème))?( arrondissement)?$")


def normalize_city(name: str) -> str:
    """Comparable commune name: no case, accents, hyphens, postcode, CEDEX, arrondissement."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"[\s\-'’.]+", " ", text).strip()
    text = _POSTCODE.sub("", text).strip()
    text = _CEDEX.sub("", text)
    # Arrondissements of Paris, Lyon and Marseille are part of their commune.
    text = _ARRONDISSEMENT.sub("", text)
    return " ".join(_ABBREVIATIONS.get(word, word) for word in text.split())


_ZONES: dict[str, str] = {
    normalize_city("Paris"): "paris",
    **{normalize_city(name): "grande_ville" for name in (*LARGE_CITIES, *GRAND_PARIS)},
}


def zone_for(commune: str) -> str:
    """Night rate code of a commune: "paris", "grande_ville" or "autre"."""
    return _ZONES.get(normalize_city(commune), "autre")
