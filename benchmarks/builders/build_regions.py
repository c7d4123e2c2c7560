"""Build tracker/model/data/regions.json from the reference CSVs plus the hand tables below.

Re-run (from the repository root, after updating the CSVs or the tables):

    python -m benchmarks.builders.build_regions
    (the same as: --reference benchmarks/data/reference --out tracker/model/data/regions.json)

Inputs:
- gcp_region_carbon_2024.csv: 44 Google Cloud regions, location-based grid intensity 2024 and
  Google CFE share (GoogleCloudPlatform/region-carbon-info, data/yearly/2024.csv, Apache-2.0).
- country_grid_intensity.csv: 215 zones keyed by ISO 3166 alpha-3 (OWID/Ember intensities and WRI
  water factors as compiled in EcoLogits' electricity_mixes data, Oct 2025); `WOR` is the world.
- The tables below: alpha-3 -> alpha-2 codes, Electricity Maps zones of the GCP regions, the AWS
  and Azure regions with the grid each one sits on, and the few sourced electricity prices.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = ROOT / "benchmarks" / "data" / "reference"
DEFAULT_OUT = ROOT / "tracker" / "model" / "data" / "regions.json"
VERSION = "2025.1"

GCP_SOURCE = "GoogleCloudPlatform/region-carbon-info data/yearly/2024.csv"
COUNTRY_SOURCE = (
    "Our World in Data (Ember-based) grid intensity, life-cycle; water: WRI factors; "
    "as compiled in EcoLogits electricity_mixes (Oct 2025)"
)

# ISO 3166-1 alpha-3 -> alpha-2 for every zone of country_grid_intensity.csv (written by hand,
# no dependency). EEE (EcoLogits' Europe aggregate) and WOR (world) are handled separately.
_ALPHA_PAIRS = """
ABW:AW AFG:AF AGO:AO ALB:AL ARE:AE ARG:AR ARM:AM ASM:AS ATG:AG AUS:AU AUT:AT AZE:AZ BDI:BI BEL:BE
BEN:BJ BFA:BF BGD:BD BGR:BG BHR:BH BHS:BS BIH:BA BLR:BY BLZ:BZ BMU:BM BOL:BO BRA:BR BRB:BB BRN:BN
BTN:BT BWA:BW CAF:CF CAN:CA CHE:CH CHL:CL CHN:CN CIV:CI CMR:CM COD:CD COG:CG COK:CK COL:CO COM:KM
CPV:CV CRI:CR CUB:CU CYM:KY CYP:CY CZE:CZ DEU:DE DJI:DJ DMA:DM DNK:DK DOM:DO DZA:DZ ECU:EC EGY:EG
ERI:ER ESH:EH ESP:ES EST:EE ETH:ET FIN:FI FJI:FJ FLK:FK FRA:FR FRO:FO GAB:GA GBR:GB GEO:GE GHA:GH
GIB:GI GIN:GN GLP:GP GMB:GM GNB:GW GNQ:GQ GRC:GR GRD:GD GRL:GL GTM:GT GUF:GF GUM:GU GUY:GY HKG:HK
HND:HN HRV:HR HTI:HT HUN:HU IDN:ID IND:IN IRL:IE IRN:IR IRQ:IQ ISL:IS ISR:IL ITA:IT JAM:JM JOR:JO
JPN:JP KAZ:KZ KEN:KE KGZ:KG KHM:KH KIR:KI KNA:KN KOR:KR KWT:KW LAO:LA LBN:LB LBR:LR LBY:LY LCA:LC
LKA:LK LSO:LS LTU:LT LUX:LU LVA:LV MAC:MO MAR:MA MDA:MD MDG:MG MDV:MV MEX:MX MKD:MK MLI:ML MLT:MT
MMR:MM MNE:ME MNG:MN MOZ:MZ MRT:MR MSR:MS MTQ:MQ MUS:MU MWI:MW MYS:MY NAM:NA NCL:NC NER:NE NGA:NG
NIC:NI NLD:NL NOR:NO NPL:NP NRU:NR NZL:NZ OMN:OM PAK:PK PAN:PA PER:PE PHL:PH PNG:PG POL:PL PRI:PR
PRK:KP PRT:PT PRY:PY PSE:PS PYF:PF QAT:QA REU:RE ROU:RO RUS:RU RWA:RW SAU:SA SDN:SD SEN:SN SGP:SG
SHN:SH SLB:SB SLE:SL SLV:SV SOM:SO SPM:PM SRB:RS SSD:SS STP:ST SUR:SR SVK:SK SVN:SI SWE:SE SWZ:SZ
SYC:SC SYR:SY TCA:TC TCD:TD TGO:TG THA:TH TJK:TJ TKM:TM TLS:TL TON:TO TTO:TT TUN:TN TUR:TR TWN:TW
TZA:TZ UGA:UG UKR:UA URY:UY USA:US UZB:UZ VCT:VC VEN:VE VGB:VG VIR:VI VNM:VN VUT:VU WSM:WS YEM:YE
ZAF:ZA ZMB:ZM ZWE:ZW
"""
ALPHA3_TO_ALPHA2: dict[str, str] = dict(pair.split(":") for pair in _ALPHA_PAIRS.split())

# Google Cloud region -> (country alpha-2, Electricity Maps zone of its grid).
GCP_ZONES: dict[str, tuple[str, str]] = {
    "africa-south1": ("ZA", "ZA"), "asia-east1": ("TW", "TW"), "asia-east2": ("HK", "HK"),
    "asia-northeast1": ("JP", "JP-TK"), "asia-northeast2": ("JP", "JP-KN"),
    "asia-northeast3": ("KR", "KR"), "asia-south1": ("IN", "IN-WE"), "asia-south2": ("IN", "IN-NO"),
    "asia-southeast1": ("SG", "SG"), "asia-southeast2": ("ID", "ID"),
    "australia-southeast1": ("AU", "AU-NSW"), "australia-southeast2": ("AU", "AU-VIC"),
    "europe-central2": ("PL", "PL"), "europe-north1": ("FI", "FI"),
    "europe-north2": ("SE", "SE-SE3"),
    "europe-southwest1": ("ES", "ES"), "europe-west1": ("BE", "BE"), "europe-west2": ("GB", "GB"),
    "europe-west3": ("DE", "DE"), "europe-west4": ("NL", "NL"), "europe-west6": ("CH", "CH"),
    "europe-west8": ("IT", "IT-NO"), "europe-west9": ("FR", "FR"), "europe-west10": ("DE", "DE"),
    "europe-west12": ("IT", "IT-NO"), "me-central1": ("QA", "QA"), "me-central2": ("SA", "SA"),
    "me-west1": ("IL", "IL"), "northamerica-northeast1": ("CA", "CA-QC"),
    "northamerica-northeast2": ("CA", "CA-ON"), "northamerica-south1": ("MX", "MX"),
    "southamerica-east1": ("BR", "BR-CS"), "southamerica-west1": ("CL", "CL-SEN"),
    "us-central1": ("US", "US-MIDW-MISO"), "us-central2": ("US", "US-CENT-SWPP"),
    "us-east1": ("US", "US-CAR-SC"), "us-east2": ("US", "US-SE-SOCO"),
    "us-east4": ("US", "US-MIDA-PJM"), "us-east5": ("US", "US-MIDA-PJM"),
    "us-south1": ("US", "US-TEX-ERCO"), "us-west1": ("US", "US-NW-BPAT"),
    "us-west2": ("US", "US-CAL-CISO"), "us-west3": ("US", "US-NW-PACE"),
    "us-west4": ("US", "US-NW-NEVP"),
}

# AWS and Azure regions: (region, location, grid) where grid is "gcp:<region>" (a Google Cloud
# region on the same grid area, whose published 2024 figure is used) or an alpha-2 country code
# (the country grid average), and an optional Electricity Maps zone overriding the grid's own.
CLOUD_REGIONS: dict[str, list[tuple[str, str, str, str | None]]] = {
    "aws": [
        ("us-east-1", "N. Virginia", "gcp:us-east4", None),
        ("us-east-2", "Ohio", "gcp:us-east5", None),
        ("us-west-1", "N. California", "gcp:us-west2", None),
        ("us-west-2", "Oregon", "gcp:us-west1", None),
        ("ca-central-1", "Montreal", "gcp:northamerica-northeast1", None),
        ("mx-central-1", "Queretaro", "gcp:northamerica-south1", None),
        ("sa-east-1", "Sao Paulo", "gcp:southamerica-east1", None),
        ("eu-west-1", "Ireland", "IE", None),
        ("eu-west-2", "London", "gcp:europe-west2", None),
        ("eu-west-3", "Paris", "gcp:europe-west9", None),
        ("eu-central-1", "Frankfurt", "gcp:europe-west3", None),
        ("eu-central-2", "Zurich", "gcp:europe-west6", None),
        ("eu-north-1", "Stockholm", "gcp:europe-north2", None),
        ("eu-south-1", "Milan", "gcp:europe-west8", None),
        ("eu-south-2", "Spain", "gcp:europe-southwest1", None),
        ("ap-southeast-1", "Singapore", "gcp:asia-southeast1", None),
        ("ap-southeast-2", "Sydney", "gcp:australia-southeast1", None),
        ("ap-southeast-3", "Jakarta", "gcp:asia-southeast2", None),
        ("ap-southeast-4", "Melbourne", "gcp:australia-southeast2", None),
        ("ap-northeast-1", "Tokyo", "gcp:asia-northeast1", None),
        ("ap-northeast-2", "Seoul", "gcp:asia-northeast3", None),
        ("ap-northeast-3", "Osaka", "gcp:asia-northeast2", None),
        ("ap-south-1", "Mumbai", "gcp:asia-south1", None),
        ("ap-east-1", "Hong Kong", "gcp:asia-east2", None),
        ("me-central-1", "UAE", "AE", None),
        ("me-south-1", "Bahrain", "BH", None),
        ("il-central-1", "Tel Aviv", "gcp:me-west1", None),
        ("af-south-1", "Cape Town", "gcp:africa-south1", None),
    ],
    "azure": [
        ("eastus", "Virginia", "gcp:us-east4", None),
        ("eastus2", "Virginia", "gcp:us-east4", None),
        ("centralus", "Iowa", "gcp:us-central1", None),
        ("northcentralus", "Illinois", "gcp:us-east4", None),
        ("southcentralus", "Texas", "gcp:us-south1", None),
        ("westus", "California", "gcp:us-west2", None),
        ("westus2", "Washington", "gcp:us-west1", "US-NW-GCPD"),
        ("westus3", "Arizona", "US", None),
        ("canadacentral", "Toronto", "gcp:northamerica-northeast2", None),
        ("canadaeast", "Quebec City", "gcp:northamerica-northeast1", None),
        ("brazilsouth", "Sao Paulo", "gcp:southamerica-east1", None),
        ("mexicocentral", "Queretaro", "gcp:northamerica-south1", None),
        ("northeurope", "Ireland", "IE", None),
        ("westeurope", "Netherlands", "gcp:europe-west4", None),
        ("uksouth", "London", "gcp:europe-west2", None),
        ("ukwest", "Cardiff", "gcp:europe-west2", None),
        ("francecentral", "Paris", "gcp:europe-west9", None),
        ("germanywestcentral", "Frankfurt", "gcp:europe-west3", None),
        ("swedencentral", "Gavle", "SE", None),
        ("norwayeast", "Oslo", "NO", "NO-NO1"),
        ("switzerlandnorth", "Zurich", "gcp:europe-west6", None),
        ("italynorth", "Milan", "gcp:europe-west8", None),
        ("polandcentral", "Warsaw", "gcp:europe-central2", None),
        ("spaincentral", "Madrid", "gcp:europe-southwest1", None),
        ("japaneast", "Tokyo", "gcp:asia-northeast1", None),
        ("japanwest", "Osaka", "gcp:asia-northeast2", None),
        ("koreacentral", "Seoul", "gcp:asia-northeast3", None),
        ("australiaeast", "New South Wales", "gcp:australia-southeast1", None),
        ("australiasoutheast", "Victoria", "gcp:australia-southeast2", None),
        ("southeastasia", "Singapore", "gcp:asia-southeast1", None),
        ("eastasia", "Hong Kong", "gcp:asia-east2", None),
        ("centralindia", "Pune", "gcp:asia-south1", None),
        ("uaenorth", "Dubai", "AE", None),
        ("qatarcentral", "Doha", "gcp:me-central1", None),
        ("israelcentral", "Israel", "gcp:me-west1", None),
        ("southafricanorth", "Johannesburg", "gcp:africa-south1", None),
    ],
}
# Cloud regions whose grid figure is the nearest published one rather than the same grid area.
NEAREST_ONLY = {
    ("azure", "westus2"): "Quincy WA (Grant County PUD, hydro) is not in BPAT; nearest published "
    "Pacific Northwest figure",
}

EUR_USD = 1.0824  # ECB euro reference rate, 2024 annual average (USD per EUR)
# Electricity prices, only where the reference README gives a sourced figure:
# (USD/kWh, source, year).
COUNTRY_PRICES: dict[str, tuple[float, str, int]] = {
    "US": (0.127, "EIA, US commercial average 2024 (about 0.127 USD/kWh) [M]", 2024),
    "IE": (round(0.256 * EUR_USD, 4), "Eurostat non-household H1 2024, Ireland EUR 0.256/kWh; "
           f"converted at {EUR_USD} USD/EUR (ECB 2024 average)", 2024),
    "FI": (round(0.094 * EUR_USD, 4), "Eurostat non-household H1 2024, Finland EUR 0.094/kWh; "
           f"converted at {EUR_USD} USD/EUR (ECB 2024 average)", 2024),
    "CN": (0.088, "China Briefing, China industrial electricity price 2024 (about 0.088) [S]",
           2024),
}
IOWA_PRICE = (0.1023, "EIA Electric Power Monthly table 5.6.B, Iowa commercial, Jan-Jul 2024", 2024)
REGION_PRICES: dict[str, tuple[float, str, int]] = {
    "gcp:us-central1": IOWA_PRICE,
    "azure:centralus": IOWA_PRICE,
}


def _price(name: str, country: str | None) -> dict[str, Any]:
    if name in REGION_PRICES:
        usd, source, year = REGION_PRICES[name]
    elif country in COUNTRY_PRICES:
        usd, source, year = COUNTRY_PRICES[country]
        if not name.isupper():  # a cloud region inheriting its country's figure
            source = f"country figure ({country}): {source}"
    else:
        return {}
    return {"price_usd_per_kwh": usd, "price_source": source, "price_year": year}


def build(reference: Path) -> dict[str, Any]:
    """Return the regions.json document built from the CSVs in `reference` and the tables."""
    countries: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    with (reference / "country_grid_intensity.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        iso3 = row["iso3"]
        water = float(row["grid_water_l_per_kwh"])
        water_note = " (water: world default)" if row["water_is_world_default"] == "True" else ""
        common = {"gco2e_per_kwh": float(row["gco2e_per_kwh"]), "year": 2025,
                  "source": COUNTRY_SOURCE, "grid_water_l_per_kwh": water}
        if iso3 == "WOR":
            entry = {"name": "world", "kind": "world", "aliases": ["WOR"],
                     "description": "World average grid (OWID/Ember via EcoLogits, zone WOR)"
                     + water_note, "basis": "location-based; world average", **common}
        elif iso3 == "EEE":
            entry = {"name": "europe", "kind": "country", "aliases": ["EEE"],
                     "description": "Europe aggregate (EcoLogits zone EEE)" + water_note,
                     "basis": "location-based; European grid average", **common}
        else:
            a2 = ALPHA3_TO_ALPHA2[iso3]
            entry = {"name": a2, "kind": "country", "country": a2, "aliases": [iso3],
                     "description": f"Country grid average of {a2} ({iso3}){water_note}",
                     "basis": f"location-based; country grid average of {a2} "
                     "(OWID/Ember via EcoLogits, 2025)",
                     "electricitymaps_zone": a2, **common, **_price(a2, a2)}
            countries[a2] = entry
        entries.append(entry)

    gcp: dict[str, dict[str, Any]] = {}
    with (reference / "gcp_region_carbon_2024.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            region = row["Google Cloud Region"]
            country, zone = GCP_ZONES[region]
            name = f"gcp:{region}"
            entry = {
                "name": name, "kind": "gcp", "country": country, "aliases": [region],
                "description": f"Google Cloud {region} ({row['Location']}); Google CFE "
                f"{float(row['Google CFE']):.0%} (2024); water: country factor of {country}",
                "gco2e_per_kwh": float(row["Grid carbon intensity (gCO2eq / kWh)"]),
                "basis": "location-based; grid of the region, published by Google Cloud",
                "year": 2024, "source": GCP_SOURCE,
                "grid_water_l_per_kwh": countries[country]["grid_water_l_per_kwh"],
                "electricitymaps_zone": zone, **_price(name, country),
            }
            gcp[name] = entry
            entries.append(entry)

    for cloud, table in CLOUD_REGIONS.items():
        for region, location, grid, zone_override in table:
            name = f"{cloud}:{region}"
            label = f"{cloud.upper() if cloud == 'aws' else 'Azure'} {region} ({location})"
            if grid.startswith("gcp:"):
                ref = gcp[grid]
                country = ref["country"]
                why = NEAREST_ONLY.get((cloud, region), "same grid area")
                basis = f"location-based; Google Cloud {grid[4:]} published figure ({why})"
                source, year = f"{GCP_SOURCE} ({grid[4:]})", 2024
            else:
                ref, country = countries[grid], grid
                basis = (f"location-based; country grid average of {grid} "
                         "(OWID/Ember via EcoLogits, 2025)")
                source, year = COUNTRY_SOURCE, 2025
            entries.append({
                "name": name, "kind": cloud, "country": country, "aliases": [region],
                "description": f"{label}; water: country factor of {country}",
                "gco2e_per_kwh": ref["gco2e_per_kwh"], "basis": basis, "year": year,
                "source": source,
                "grid_water_l_per_kwh": countries[country]["grid_water_l_per_kwh"],
                "electricitymaps_zone": zone_override or ref.get("electricitymaps_zone"),
                **_price(name, country),
            })

    _check_unique(entries)
    return {
        "version": VERSION,
        "description": "Grid carbon intensity (gCO2e/kWh), water and price per region. Names: "
        "ISO 3166 alpha-2 for countries (alpha-3 alias), gcp:/aws:/azure:<region> for cloud "
        "regions (bare region id alias), 'world' (alias WOR). "
        "Built by benchmarks/builders/build_regions.py.",
        "entries": entries,
    }


def _check_unique(entries: list[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        for key in [entry["name"], *entry["aliases"]]:
            if key.lower() in seen:
                other = seen[key.lower()]
                raise SystemExit(f"duplicate region key {key!r}: {other} and {entry['name']}")
            seen[key.lower()] = entry["name"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    doc = build(args.reference)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for entry in doc["entries"]:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    print(f"wrote {args.out}: {len(doc['entries'])} regions {kinds}")


if __name__ == "__main__":
    main()
