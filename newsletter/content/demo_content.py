"""The demo content that `manage.py seed_demo` loads: plain data, no database access.

Times are relative to the moment of seeding (`published_ago`, `starts_in_days`), so a fresh demo
always has recent posts for the first digest and an event in the future.
"""

from datetime import time, timedelta

SITE = "https://www.engage-charity.example"

ARTICLE_BODY = """\
Almost everyone has felt a muscle flicker by itself: an eyelid that will not settle, or a calf that
jumps while you lie in bed. Look it up online and amyotrophic lateral sclerosis (ALS) soon appears,
and with it a great deal of fear. This article explains what these twitches
are, why the great majority of them are harmless, and what actually sets ALS apart.

> This is general information, not medical advice. If a symptom worries you, please talk to your
> GP or another doctor.

## What a fasciculation is

A fasciculation is a brief, involuntary contraction of a small bundle of muscle fibres. You may see
it as a ripple under the skin or feel it as a flutter, but it is far too weak to move a joint.
Twitches like this are remarkably common: around 70% of people have them at some point. When one
lands in the eyelid, most people simply call it an eye spasm [4].

## Benign fasciculation syndrome (BFS)

Some people twitch much more than usual, often for weeks or months. When the twitching (sometimes
with tingling or numbness) keeps coming back and no underlying disease is found, doctors may call it
benign fasciculation syndrome [4]. Its usual pattern:

- the calves and thighs are the favourite spots, although any muscle can join in;
- twitches tend to show up when a muscle is resting and calm down once you use it;
- they can come and go, from the odd flicker to many a day [4].

Nobody knows for certain what causes BFS. The leading idea is that the nerves supplying the muscle
become overexcitable [4]. Research has linked it with:

- anxiety, stress and low mood
- tiredness
- caffeine and alcohol
- smoking
- viral infections
- hard exercise
- injury

Most importantly, BFS does not harm the muscles or the nerves: it is a nuisance, not a disease.

## ALS, and why it can make muscles twitch

ALS, called motor neurone disease (MND) in the UK and Lou Gehrig's disease in the US, is a
progressive illness of the motor neurons: the nerve cells that carry signals from the brain, down
the spinal cord and out to the muscles. As these cells are lost, the brain gradually loses its hold
over movement, and in time walking, speaking, eating and breathing are all affected [1]. Muscles
that are losing their nerve supply become irritable, which is why twitching and cramps can be part
of the picture.

ALS does not begin in the same place for everyone. In limb-onset ALS the first problems appear in an
arm or a leg, often in a hand or foot, and spread from there; in bulbar-onset ALS the earliest signs
are difficulty speaking or swallowing [2]. Other features can include [3]:

- slurred speech
- trouble swallowing
- twitching in the arms and the tongue
- stiffness (spasticity) in a limb
- changes in behaviour or in thinking

It can affect adults of any age, but it most often starts in middle age [3].

## The real difference: weakness

A doctor does not look for ALS in twitching alone. What matters is **weakness that keeps getting
worse**, together with muscle wasting (atrophy) and signs found on examination, such as unusual
reflexes. In ALS, twitching comes alongside a real and measurable loss of strength and function
[5]. In BFS the muscles twitch but go on working normally: you can climb the stairs, open a jar and
hold a pen just as well as before.

A few points help put twitching in perspective:

- Feeling generally tired or achy is not the same as one particular muscle failing at its job.
- Twitches that wander from place to place are typical of the benign kind.
- In people who already have ALS, the amount of twitching says nothing about how fast the illness is
  moving [7].

## How a neurologist tells them apart

If twitching persists or worries you, your GP may refer you to a neurologist. They will ask about
your symptoms and examine you with care: the strength of each muscle group, muscle bulk, reflexes,
speech and swallowing. Blood tests can rule other causes in or out [6].

The key specialist test is **electromyography (EMG)**, usually done together with **nerve conduction
studies**. Fine electrodes record the electrical activity of your nerves and muscles. Fasciculations
can appear in both conditions, but ALS leaves further signs of muscles losing their nerve supply in
several parts of the body. An EMG that shows nothing beyond fasciculations is reassuring.

## When to see a doctor

Book an appointment with your GP if you notice:

1. weakness, such as tripping, dropping things or struggling with buttons;
2. a muscle that looks thinner than it used to;
3. slurred speech or difficulty swallowing;
4. twitching with any of the above, or twitching that persists and troubles you.

Twitching without weakness is very rarely serious, but a doctor is the right person to check.

## Treatment and support

There is no specific treatment for BFS. If the twitching gets in the way of daily life, a doctor can
suggest ways to manage it, and some people find that regular exercise and massage help [4].

There is no cure for ALS yet either, but a care team can ease many of its symptoms: medicines for
cramps and excess saliva, advice from a dietitian, changes to food and drink once swallowing gets
harder, and equipment that helps people move about and stay independent.

## Coping with health anxiety

Stress and worry can set off twitching and make you notice it more, so fear of ALS can keep the
twitches going. Some things that help:

- **Check less.** Testing your strength again and again, or searching for symptoms, tends to feed
  the worry rather than settle it.
- **Look after the basics.** Cut down on caffeine and alcohol, and protect your sleep.
- **Keep moving.** Exercise is good both for twitchy muscles and for an anxious mind.
- **Talk to someone.** Tell your GP about the twitching and about the anxiety; talking therapies
  such as CBT help many people with health anxiety.
"""

POSTS = [
    {
        "kind": "education",
        "topic": "education",
        "slug": "muscle-twitching-als-or-benign-fasciculations",
        "title": "Muscle twitching: is it ALS or benign fasciculations?",
        "summary": (
            "Muscle twitches are very common and usually harmless. What sets ALS apart from benign "
            "fasciculation syndrome, how a neurologist tells them apart, and when to see a doctor."
        ),
        "body": ARTICLE_BODY,
        "url": f"{SITE}/learn/muscle-twitching-als-or-benign-fasciculations/",
        "image": "demo/muscle-twitching.png",
        "image_alt": "A drawing of a muscle with small marks where it twitches",
        "published_ago": timedelta(days=2),
        # From the seed article's reference list; it gives no addresses and only one year. The
        # three publishers' pages that could be named with confidence are linked.
        "references": [
            {
                "title": "What is ALS?",
                "publisher": "ALS Association",
                "url": "https://www.als.org/understanding-als/what-is-als",
                "year": None,
            },
            {
                "title": "Amyotrophic lateral sclerosis (ALS)",
                "publisher": "Mayo Clinic",
                "url": "https://www.mayoclinic.org/diseases-conditions/"
                "amyotrophic-lateral-sclerosis/symptoms-causes/syc-20354022",
                "year": None,
            },
            {
                "title": "Amyotrophic Lateral Sclerosis (ALS): Signs and Symptoms",
                "publisher": "MDA | Muscular Dystrophy Association",
                "url": "https://www.mda.org/disease/amyotrophic-lateral-sclerosis/signs-and-symptoms",
                "year": None,
            },
            {
                "title": "What Is Benign Fasciculation Syndrome?",
                "publisher": "",
                "url": "",
                "year": None,
            },
            {
                "title": "What is causing that twitching in your muscles? (A. Daniels)",
                "publisher": "Baltimore Sun",
                "url": "",
                "year": 2018,
            },
            {
                "title": "Annoying Muscle Twitch? When to Seek Help",
                "publisher": "Rush",
                "url": "",
                "year": None,
            },
            {
                "title": "What Do Fasciculations or Muscle Twitching Mean?",
                "publisher": "ALS Association",
                "url": "",
                "year": None,
            },
        ],
    },
    {
        "kind": "news",
        "topic": "news",
        "slug": "new-guide-preparing-for-a-neurology-appointment",
        "title": "New guide: preparing for your first neurology appointment",
        "summary": (
            "A free, plain-language guide to what happens at a first neurology appointment, with a "
            "checklist of questions to take along."
        ),
        "body": (
            "Waiting for a neurology appointment can be an anxious time. Our new guide walks you "
            "through what usually happens on the day and how to get the most from it.\n\n"
            "It covers:\n\n"
            "- what to write down beforehand: when symptoms started and what makes them better "
            "or worse;\n"
            "- the examination and the tests you may be offered;\n"
            "- questions worth asking before you leave;\n"
            "- where to find support while you wait for results.\n\n"
            "The guide was written with people who have been through it, and reviewed by our "
            "clinical advisers. You can read it online or ask us for a printed copy."
        ),
        "url": f"{SITE}/news/new-guide-preparing-for-a-neurology-appointment/",
        "image": "demo/neurology-guide.png",
        "image_alt": "The cover of the guide beside a notebook and a pen on a table",
        "published_ago": timedelta(hours=3),
    },
    {
        "kind": "news",
        "topic": "news",
        "slug": "our-year-in-numbers",
        "title": "Our year in numbers: what your support made possible",
        "summary": (
            "Support groups, helpline calls and research: a short look back at the year, and thank "
            "you to everyone who gave time or money."
        ),
        "body": (
            "Every year we look back at what your support has made possible. This year, thanks to "
            "you, we:\n\n"
            "1. ran monthly support groups in more towns than ever before;\n"
            "2. answered thousands of questions from people living with a diagnosis and from "
            "the people who care for them;\n"
            "3. helped fund research into earlier and more accurate diagnosis.\n\n"
            "Our full annual report, with the accounts, is on our website. **Thank you** to every "
            "volunteer, fundraiser and donor."
        ),
        "url": f"{SITE}/news/our-year-in-numbers/",
        "image": "demo/year-in-numbers.png",
        "image_alt": "A bar chart of three rising bars",
        "published_ago": timedelta(days=1, hours=4),
    },
    {
        "kind": "event",
        "topic": "events",
        "slug": "living-well-evening-with-our-care-team",
        "title": "Living well: an evening with our care team",
        "summary": (
            "An informal evening of short talks and open questions with our nurses, "
            "physiotherapist and dietitian. Free; everyone welcome, including family and friends."
        ),
        "body": (
            "Join our care team for an evening of short talks followed by time for your "
            "questions.\n\n"
            "## The programme\n\n"
            "- staying active safely;\n"
            "- eating well when swallowing changes;\n"
            "- the equipment and support you can ask for, and how to ask.\n\n"
            "Tea and coffee from 18:00. The venue has step-free access and a hearing loop. The "
            "event is free, but places are limited, so please register."
        ),
        "url": f"{SITE}/events/living-well-evening-with-our-care-team/",
        "image": "",
        "image_alt": "",
        "published_ago": timedelta(hours=6),
        "starts_in_days": 21,
        "starts_at_local": time(18, 30),
        "ends_at_local": time(20, 30),
        "timezone": "Europe/London",
        "location": "Engage Community Hall, 1 Example Street, London EC1A 1AA",
        "registration_url": f"{SITE}/events/living-well-evening-with-our-care-team/register/",
    },
    {
        "kind": "get-involved",
        "topic": "get-involved",
        "slug": "volunteer-or-fundraise-this-winter",
        "title": "Give an hour or take on a challenge: volunteer or fundraise this winter",
        "summary": (
            "Help at a support group, staff a stall, or raise money your own way. We will match "
            "you with something that suits the time you have."
        ),
        "body": (
            "There are many ways to help, and all of them make a difference.\n\n"
            "## Volunteer\n\n"
            "- welcome people at a local support group;\n"
            "- help at events and information stands;\n"
            "- lend a professional skill, from design to accounting.\n\n"
            "## Fundraise\n\n"
            "- join our winter walk, or set your own challenge;\n"
            "- hold a bake sale or a quiz night at work or school;\n"
            "- ask your employer whether they match donations.\n\n"
            "Tell us what you would like to do and we will be in touch with the next steps and "
            "a free fundraising pack."
        ),
        "url": f"{SITE}/get-involved/volunteer-or-fundraise-this-winter/",
        "image": "demo/winter-walk.png",
        "image_alt": "Four walkers in charity T-shirts under a striped finish banner",
        "published_ago": timedelta(days=3),
    },
]

SUBSCRIBERS = [
    {"email": "amara.okafor@example.org", "first_name": "Amara", "topics": ["news", "events"]},
    {"email": "ben.hughes@example.org", "first_name": "Ben", "topics": ["education"]},
    {
        "email": "chloe.martin@example.org",
        "first_name": "Chloé",
        "topics": ["news", "events", "education", "get-involved"],
    },
    {"email": "dev.patel@example.org", "first_name": "Dev", "topics": ["get-involved"]},
    {"email": "eilidh.ross@example.org", "first_name": "Eilidh", "topics": ["events"]},
    {"email": "farah.haddad@example.org", "first_name": "Farah", "topics": ["news", "education"]},
    {"email": "gareth.jones@example.org", "first_name": "Gareth", "topics": ["news"]},
    {
        "email": "hana.suzuki@example.org",
        "first_name": "Hana",
        "topics": ["education", "get-involved"],
    },
    {"email": "ifeoma.nwosu@example.org", "first_name": "Ifeoma", "topics": ["events", "news"]},
    {"email": "jakub.nowak@example.org", "first_name": "Jakub", "topics": ["education", "events"]},
    {"email": "kate.obrien@example.org", "first_name": "", "topics": ["news", "get-involved"]},
    {
        "email": "liam.walsh@example.org",
        "first_name": "Liam",
        "topics": ["news", "events", "education"],
    },
]

# The charity's look in the demo (newsletter.content.brand): the logo is a static file Engage
# serves.
BRAND = {
    "logo": "demo/logo.png",
    "donate_url": f"{SITE}/donate/",
    "donate_label": "Donate today",
    "links": [
        ("About us", f"{SITE}/about/"),
        ("Privacy", f"{SITE}/privacy/"),
        ("Contact us", f"{SITE}/contact/"),
    ],
}

DIGEST_SCHEDULE = {
    "name": "Weekly digest",
    "topics": ["news", "events", "education", "get-involved"],
    "weekday": "MONDAY",  # a DigestSchedule.Weekday name
    "time_of_day": time(9, 0),
    "timezone": "Europe/London",
    "subject": "Engage weekly: news, events and ways to help ({date})",
    "intro": (
        "Here is what is new this week: the latest news, events near you, something to read, "
        "and ways to get involved."
    ),
}

# The welcome series every confirmed signup gets. Short delays so `make run` shows all three
# within minutes: step one at once, step two two minutes later, step three two minutes after that.
WELCOME_SERIES = {
    "name": "Welcome series",
    "steps": [
        {
            "subject": "Welcome to Engage: thank you for joining us",
            "preheader": "What to expect from us, and how to change it",
            "body": (
                "Thank you for joining us. We are a charity for people living with ALS (also "
                "called motor neurone disease), their families and everyone who cares for them.\n\n"
                "Over the next few days we will send you two more short emails: one about the "
                "support we offer, and one about the ways you can help. After that you will hear "
                "from us only about the topics you chose.\n\n"
                "You can change your topics, or leave, at any time from the link at the foot of "
                "every email."
            ),
            "delay_minutes": 0,
            "posts": [],
        },
        {
            "subject": "How we support people living with ALS",
            "preheader": "Information you can trust, and people to talk to",
            "body": (
                "A diagnosis of ALS changes a great deal, and nobody should face it alone. Our "
                "care team answers questions by phone and email, our local groups bring people "
                "together, and our guides explain each stage in plain words.\n\n"
                "Much of what worries people first is a symptom they have read about. Below is "
                "one of our most read articles: what muscle twitching does, and mostly does not, "
                "mean."
            ),
            "delay_minutes": 2,
            "posts": ["muscle-twitching-als-or-benign-fasciculations"],
        },
        {
            "subject": "Ways to get involved",
            "preheader": "An hour of your time, a challenge, or a kind word",
            "body": (
                "Everything we do is made possible by people who give a little of their time, "
                "energy or money. If you would like to help, there is a way that fits your week: "
                "see below, or simply tell a friend about us."
            ),
            "delay_minutes": 2,
            "posts": ["volunteer-or-fundraise-this-winter"],
        },
    ],
}
